"""stream_coalesce_ms through a real ``litellm --config`` proxy, read with the OpenAI SDK.

The container here sends a token every 20 ms, and the merged deployment holds them for 100 ms.
The same requests to a deployment without the window must give the SDK the same text,
reasoning, tool calls, logprobs, finish reason and usage, from fewer chunks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from integration.proxy_support import MASTER_KEY, run_proxy

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

pytestmark = pytest.mark.proxy
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip


@pytest.fixture(scope="module")
def proxy(test_creds: TestCredentials, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = EmulatorConfig(
        region="us-east-1",
        credentials=(test_creds,),
        reference=ReferenceConfig(reasoning=True, itl_ms=20),
    )
    with run_emulator(config) as emulator:
        params = {"model": "sagemaker_openai/demo-endpoint", "api_base": emulator,
                  "aws_region_name": "us-east-1", "aws_access_key_id": test_creds.access_key_id,
                  "aws_secret_access_key": test_creds.secret_access_key}  # fmt: skip
        proxy_config = {
            "model_list": [
                {"model_name": "plain", "litellm_params": params},
                {"model_name": "merged", "litellm_params": {**params, "stream_coalesce_ms": 100}},
            ],
            "litellm_settings": {"custom_provider_map": [
                {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
        }  # fmt: skip
        with run_proxy(proxy_config, tmp_path_factory.mktemp("proxy-coalesce")) as base:
            yield base


def _answer(proxy: str, model: str, **request: Any) -> tuple[dict[str, Any], int]:
    """What the SDK's stream accumulator builds, and how many chunks it took."""
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    with client.chat.completions.stream(model=model, **request) as stream:
        chunks = sum(1 for event in stream if event.type == "chunk")
        snapshot = stream.current_completion_snapshot  # also when the answer hit max_tokens
        built = snapshot.model_dump(exclude={"id", "created", "model"})
    for choice in built["choices"]:
        for call in choice["message"].get("tool_calls") or []:
            call.pop("id")  # the reference mints a fresh call id per request
    return built, chunks


@pytest.mark.parametrize(
    "request_",
    [
        {"messages": [{"role": "user", "content": " ".join(["w"] * 60)}], "max_tokens": 40,
         "logprobs": True, "top_logprobs": 2},
        {"messages": [{"role": "user", "content": "weather in Paris"}], "tools": [WEATHER],
         "tool_choice": "required"},
    ],
    ids=["text-reasoning-logprobs", "tool-calls"],
)  # fmt: skip
def test_the_sdk_builds_the_same_answer_from_fewer_chunks(
    proxy: str, request_: dict[str, Any]
) -> None:
    request = {**request_, "stream_options": {"include_usage": True}}
    plain, plain_chunks = _answer(proxy, "plain", **request)
    merged, merged_chunks = _answer(proxy, "merged", **request)
    assert merged == plain
    assert merged_chunks < plain_chunks
    message = plain["choices"][0]["message"]
    assert message.get("reasoning_content") or message["tool_calls"]
    if message["tool_calls"]:
        assert json.loads(message["tool_calls"][0]["function"]["arguments"])
    else:
        assert plain["choices"][0]["logprobs"]["content"]
    assert plain["usage"]["completion_tokens"] > 0
