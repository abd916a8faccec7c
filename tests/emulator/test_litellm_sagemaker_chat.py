"""LiteLLM's built-in ``sagemaker_chat/`` (SigV4, /invocations) works against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator.emulator_support import CREDS

from conformance._emulator import EmulatorConfig
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

litellm = pytest.importorskip("litellm")
MESSAGES = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    config = EmulatorConfig(credentials=(CREDS,), reference=ReferenceConfig(itl_ms=1))
    with run_emulator(config) as url:
        yield url


def sigv4_kwargs(base_url: str, path: str) -> dict[str, str]:
    return {
        "aws_access_key_id": CREDS.access_key_id,
        "aws_secret_access_key": CREDS.secret_access_key,
        "aws_region_name": "us-east-1",
        "sagemaker_base_url": f"{base_url}/endpoints/demo-endpoint/{path}",
    }


def test_sagemaker_chat_completion(base_url: str) -> None:
    response = litellm.completion(
        model="sagemaker_chat/demo-endpoint",
        messages=MESSAGES,
        max_tokens=5,
        **sigv4_kwargs(base_url, "invocations"),
    )
    assert response.choices[0].message.content
    assert response.usage.completion_tokens > 0


def test_sagemaker_chat_stream_over_event_stream(base_url: str) -> None:
    stream = litellm.completion(
        model="sagemaker_chat/demo-endpoint",
        messages=MESSAGES,
        max_tokens=5,
        stream=True,
        **sigv4_kwargs(base_url, "invocations-response-stream"),
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip()


def test_sagemaker_chat_with_a_wrong_secret_is_refused(base_url: str) -> None:
    kwargs = {**sigv4_kwargs(base_url, "invocations"), "aws_secret_access_key": "x" * 40}
    with pytest.raises(litellm.exceptions.PermissionDeniedError) as caught:
        litellm.completion(model="sagemaker_chat/demo-endpoint", messages=MESSAGES, **kwargs)
    assert "rule: signature" in str(caught.value)
