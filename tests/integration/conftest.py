"""Integration fixtures: the emulator plus reference container on real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

import litellm_sagemaker_openai
from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()

TEST_CREDS = TestCredentials("AKIAEMULATOREXAMPLE1", "emulator/secret+key/EXAMPLE0123456789abc")


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """Emulator + reference container (20 ms between tokens), shared by the whole session."""
    config = EmulatorConfig(
        region="us-east-1", credentials=(TEST_CREDS,), reference=ReferenceConfig(itl_ms=20)
    )
    with run_emulator(config) as url:
        yield url


@pytest.fixture(scope="session")
def test_creds() -> TestCredentials:
    return TEST_CREDS


@pytest.fixture
def call_kwargs(emulator: str, fresh_tokens: None) -> dict[str, Any]:
    return {
        "api_base": emulator,
        "aws_access_key_id": TEST_CREDS.access_key_id,
        "aws_secret_access_key": TEST_CREDS.secret_access_key,
        "aws_region_name": "us-east-1",
    }
