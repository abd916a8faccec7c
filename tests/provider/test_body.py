"""What reaches the wire: URL, body and headers for every routing form (respx)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, IC_URL, MESSAGES, chunk, completion_json, sse


def _sent(route: respx.Route) -> dict[str, Any]:
    return json.loads(route.calls.last.request.content)


@pytest.mark.parametrize(
    ("model", "extra", "url"),
    [
        ("sagemaker_openai/ep", {}, EP_URL),
        ("sagemaker_openai/ep/ic", {}, IC_URL),
        ("sagemaker_openai/ep", {"model_id": "ic"}, IC_URL),
        ("sagemaker_openai/ep", {"api_base": "http://127.0.0.1:1"}, "http://127.0.0.1:1/endpoints/ep/openai/v1/chat/completions"),
        ("sagemaker_openai/ep", {"aws_region_name": "cn-north-1"}, "https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/endpoints/ep/openai/v1/chat/completions"),
    ],
)  # fmt: skip
def test_each_routing_form_hits_its_url(model: str, extra: dict[str, Any], url: str) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(url).respond(200, json=completion_json())
        litellm.completion(model=model, messages=MESSAGES, **{**CREDS, **extra})
    body = _sent(route)
    assert body == {"model": "", "messages": MESSAGES}
    assert route.calls.last.request.headers["authorization"].startswith("Bearer sagemaker-api-key-")


def test_openai_params_pass_through_unchanged_and_internals_never_do() -> None:
    params = {
        "temperature": 0, "top_p": 0.5, "max_tokens": 7, "stop": ["\n"], "seed": 3, "n": 2,
        "logprobs": True, "top_logprobs": 2, "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": "auto", "user": "u1",
    }  # fmt: skip
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, **params, **CREDS,
            aws_session_token="FwoGZXIvYXdzEXAMPLETOKEN", aws_profile_name=None, max_retries=0,
            container_model="Qwen/Qwen3-4B", extra_body={"top_k": 5, "chat_template_kwargs": {"enable_thinking": True}},
        )  # fmt: skip
    body = _sent(route)
    for key, value in params.items():
        assert body[key] == value, key
    assert body["temperature"] == 0 and isinstance(body["temperature"], int)  # no 0.01 rounding
    assert body["model"] == "Qwen/Qwen3-4B"
    assert body["top_k"] == 5 and body["chat_template_kwargs"] == {"enable_thinking": True}
    raw = route.calls.last.request.content.decode()
    for leaked in (
        "aws_",
        "max_retries",
        "container_model",
        "model_id",
        "extra_body",
        CREDS["aws_secret_access_key"],
        "FwoGZXIv",
    ):
        assert leaked not in raw, leaked


def test_streaming_always_asks_for_usage_and_keeps_caller_options() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(
            200,
            content=sse(chunk({"content": "x"}, "stop")),
            headers={"content-type": "text/event-stream"},
        )
        list(
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, stream=True, **CREDS)
        )
        list(litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, stream=True,
                                stream_options={"include_usage": False, "continuous_usage_stats": True}, **CREDS))  # fmt: skip
    first, second = (json.loads(c.request.content) for c in route.calls)
    assert first["stream"] is True and first["stream_options"] == {"include_usage": True}
    assert second["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert route.calls.last.request.headers["accept"] == "text/event-stream"


def test_pre_minted_api_key_is_used_as_is_without_credentials() -> None:
    token = "sagemaker-api-key-" + "A" * 40
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(
            model="sagemaker_openai/ep",
            messages=MESSAGES,
            api_key=token,
            aws_region_name="us-east-1",
        )
    assert route.calls.last.request.headers["authorization"] == f"Bearer {token}"


def test_api_key_that_is_not_a_sagemaker_token_is_a_configuration_error() -> None:
    from litellm_sagemaker_openai import ConfigurationError

    with respx.mock() as mock, pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(
            model="sagemaker_openai/ep",
            messages=MESSAGES,
            api_key="sk-openai",
            aws_region_name="us-east-1",
        )
    assert isinstance(info.value, ConfigurationError)
    assert "sagemaker-api-key-" in str(info.value) and "sk-openai" not in str(info.value)
    assert not mock.calls


def test_caller_headers_are_forwarded_but_cannot_replace_auth() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS,
                           extra_headers={"X-Amzn-SageMaker-Custom-Attributes": "a=b", "Authorization": "Bearer evil"})  # fmt: skip
    headers = route.calls.last.request.headers
    assert headers["x-amzn-sagemaker-custom-attributes"] == "a=b"
    assert headers["authorization"].startswith("Bearer sagemaker-api-key-")


@pytest.mark.parametrize(
    "model", ["sagemaker_openai/a/b/c", "sagemaker_openai/../x", "sagemaker_openai/ep/ic x"]
)
def test_invalid_model_fails_before_any_request(model: str) -> None:
    from litellm_sagemaker_openai import ConfigurationError

    with respx.mock(assert_all_mocked=True) as mock, pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model=model, messages=MESSAGES, **CREDS)
    assert isinstance(info.value, ConfigurationError)
    assert not mock.calls


def test_missing_region_fails_before_any_request() -> None:
    creds = {k: v for k, v in CREDS.items() if k != "aws_region_name"}
    with respx.mock() as mock, pytest.raises(litellm.BadRequestError, match="AWS_REGION_NAME"):
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **creds)
    assert not mock.calls


def test_timeout_is_honoured() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, timeout=7, **CREDS)
    assert route.calls.last.request.extensions["timeout"]["read"] == 7.0


def test_env_credentials_are_used_when_no_params(aws_env: dict[str, str]) -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES)
    assert route.called
    assert isinstance(route.calls.last.request, httpx.Request)


def test_the_search_for_what_json_cannot_carry_never_recurses_nor_loops() -> None:
    # It runs after the encoder failed, on the same input: 100,000 levels would exhaust the stack
    # of a recursive search, and a cycle would never end one that does not remember its path.
    from litellm_sagemaker_openai import ConfigurationError
    from litellm_sagemaker_openai._validate import encode_body

    deep: Any = "leaf"
    for _ in range(100_000):
        deep = {"k": [deep]}
    loop: list[Any] = [1, {"a": [2]}]
    loop[1]["a"].append(loop)
    shared = {"x": 1.5}  # the same dict twice is not a cycle
    cases = {
        "deep": ({"messages": MESSAGES, "deep": deep}, "deep['k'][0]['k'][0]", "500 levels deep"),
        "cycle": ({"messages": MESSAGES, "p": [shared, shared, loop]}, "p[2][1]['a'][1] is p[2] again", "cycle"),
        "nan after a shared dict": ({"p": [shared, shared, {"y": float("-inf")}]}, "p[2]['y']", "-Infinity"),
    }  # fmt: skip
    for body, where, what in cases.values():
        with pytest.raises(ConfigurationError) as info:
            encode_body(body)
        assert where in str(info.value) and what in str(info.value), str(info.value)
