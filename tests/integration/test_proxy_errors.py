"""Through a real ``litellm --config`` proxy: SageMaker's request id reaches the client in a
response header (``llm_provider-x-amzn-requestid``), errors keep their status and author, and a
call the route cannot serve is a 400 at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.proxy_support import MASTER_KEY, run_proxy

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

pytestmark = pytest.mark.proxy
HEADER = "llm_provider-x-amzn-requestid"
FAULTS = {"throttled": "ThrottlingException", "broken": "ModelError", "gone": "ValidationError"}
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def proxy(test_creds: TestCredentials, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    emulator = EmulatorConfig(
        region="us-east-1",
        credentials=(test_creds,),
        reference=ReferenceConfig(),
        # Each fault twice, "-stream" for the streamed call: a 404 cools its deployment down.
        faults={(name + suffix, None): fault for name, fault in FAULTS.items()
                for suffix in ("", "-stream")},
    )  # fmt: skip
    with run_emulator(emulator) as base:
        params = {"api_base": base.replace("127.0.0.1", "localhost"), "aws_region_name": "us-east-1",
                  "aws_access_key_id": test_creds.access_key_id,
                  "aws_secret_access_key": test_creds.secret_access_key}  # fmt: skip
        config = {
            "model_list": [
                {"model_name": name, "litellm_params": {"model": f"sagemaker_openai/{name}", **params}}
                for name in ("serving", *FAULTS, *(f"{name}-stream" for name in FAULTS))
            ],
            "litellm_settings": {"custom_provider_map": [
                {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
            "router_settings": {"num_retries": 2, "retry_after": 0},
        }  # fmt: skip
        with run_proxy(config, tmp_path_factory.mktemp("proxy-errors")) as url:
            yield url


def _chat(proxy: str, model: str, *, stream: bool = False) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    with httpx.stream(
        "POST", f"{proxy}/v1/chat/completions", headers=AUTH, json=body, timeout=60
    ) as response:
        response.read()
        return response


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
def test_an_answer_carries_sagemakers_request_id_in_a_header(proxy: str, stream: bool) -> None:
    response = _chat(proxy, "serving", stream=stream)
    assert response.status_code == 200
    assert response.headers.get(HEADER)


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize(
    ("model", "status", "author"),
    [("throttled", 429, "written by SageMaker: ThrottlingException"),
     ("broken", 500, "written by the container (status 500)"),
     ("gone", 404, "written by SageMaker: ValidationError")],
)  # fmt: skip
def test_an_error_keeps_its_status_author_and_request_id(
    proxy: str, model: str, status: int, author: str, stream: bool
) -> None:
    response = _chat(proxy, model + ("-stream" if stream else ""), stream=stream)
    assert response.status_code == status
    rid = response.headers[HEADER]
    message = response.json()["error"]["message"]
    assert author in message and f"SageMaker request id {rid}" in message


def test_an_embedding_is_refused_with_a_400_naming_chat_completions(proxy: str) -> None:
    response = httpx.post(
        f"{proxy}/v1/embeddings",
        headers=AUTH,
        json={"model": "serving", "input": ["hi"]},
        timeout=60,
    )
    assert response.status_code == 400
    assert "serves chat completions only" in response.json()["error"]["message"]


def test_the_refusal_is_not_retried(proxy: str, tmp_path: Path) -> None:
    """num_retries=2 in the config: a retried 400 would show LiteLLM's retry count."""
    response = httpx.post(
        f"{proxy}/v1/embeddings",
        headers=AUTH,
        json={"model": "serving", "input": ["hi"]},
        timeout=60,
    )
    assert response.status_code == 400
    assert response.headers.get("x-litellm-attempted-retries", "0") == "0"
