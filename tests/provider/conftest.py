"""Provider fixtures: LiteLLM imported once, the provider registered, a fresh token cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import litellm
import pytest

import litellm_sagemaker_openai

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()


@pytest.fixture(autouse=True)
def _tokens(fresh_tokens: None) -> Iterator[None]:
    yield


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG: the root (botocore, httpcore, urllib3 reach it) and LiteLLM's."""
    litellm._turn_on_debug()
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        litellm.set_verbose = False
