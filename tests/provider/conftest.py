"""Provider fixtures: LiteLLM imported once, the provider registered, a fresh token cache."""

from __future__ import annotations

from collections.abc import Iterator

import litellm
import pytest

import litellm_sagemaker_openai

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()


@pytest.fixture(autouse=True)
def _tokens(fresh_tokens: None) -> Iterator[None]:
    yield
