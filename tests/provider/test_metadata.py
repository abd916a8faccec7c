"""LiteLLM's metadata helpers on plugin deployments: declared capabilities and context window
(``litellm.register_model`` and the Router's ``model_info``), and cost from a response.

The proxy's ``model_info`` and ``/model/info`` are in test_proxy_metadata.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
import respx
from provider_support import CREDS, MESSAGES, completion_json

LONG = [{"role": "user", "content": "word " * 400}]  # ~400 tokens
PRICES = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
COST = 3 * 1e-6 + 4 * 2e-6  # completion_json's usage: 3 prompt, 4 completion tokens


@pytest.fixture
def registered() -> Iterator[dict[str, Any]]:
    """Declare two deployments the documented way; removed from LiteLLM's map afterwards."""
    entries = {
        "sagemaker_openai/meta-small": {"max_input_tokens": 100, "supports_function_calling": True,
                                        "supports_vision": False, **PRICES},
        "sagemaker_openai/meta-ep/meta-ic": {"max_input_tokens": 32768,
                                             "supports_reasoning": True, **PRICES},
    }  # fmt: skip
    litellm.register_model(
        {
            k: {**v, "litellm_provider": "sagemaker_openai", "mode": "chat"}
            for k, v in entries.items()
        }
    )
    yield entries
    for key in entries:
        litellm.model_cost.pop(key, None)


def test_supports_helpers_answer_from_register_model(registered: dict[str, Any]) -> None:
    assert litellm.supports_function_calling("sagemaker_openai/meta-small") is True
    assert litellm.supports_vision("sagemaker_openai/meta-small") is False
    assert litellm.supports_reasoning("sagemaker_openai/meta-ep/meta-ic") is True
    info = litellm.get_model_info("sagemaker_openai/meta-ep/meta-ic")
    assert info["max_input_tokens"] == 32768 and info["litellm_provider"] == "sagemaker_openai"
    # Undeclared deployments stay unknown rather than guessed.
    assert litellm.supports_function_calling("sagemaker_openai/never-declared") is False


def _router(**kwargs: Any) -> litellm.Router:
    return litellm.Router(
        model_list=[
            {"model_name": "small", "litellm_params": {"model": "sagemaker_openai/meta-small", **CREDS}},
            {"model_name": "big", "litellm_params": {"model": "sagemaker_openai/meta-big", **CREDS},
             "model_info": {"max_input_tokens": 100000}},
            {"model_name": "inline", "litellm_params": {"model": "sagemaker_openai/meta-inline", **CREDS},
             "model_info": {"max_input_tokens": 100}},
        ],
        enable_pre_call_checks=True,
        num_retries=0,
        **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["small", "inline"], ids=["register_model", "model_info"])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_router_context_window_precheck_refuses_before_any_io(
    registered: dict[str, Any], name: str, sync: bool
) -> None:
    router = _router()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route().respond(200, json=completion_json())
        with pytest.raises(litellm.ContextWindowExceededError, match="Max Input Tokens=100"):
            if sync:
                router.completion(model=name, messages=LONG)
            else:
                asyncio.run(router.acompletion(model=name, messages=LONG))
        assert route.call_count == 0
        router.completion(model=name, messages=MESSAGES)  # a short prompt still goes through
        assert route.call_count == 1


def test_router_context_window_fallback_uses_the_declared_windows(
    registered: dict[str, Any],
) -> None:
    router = _router(context_window_fallbacks=[{"small": ["big"]}])
    with respx.mock(assert_all_called=False) as mock:
        small = mock.route(url__regex=r".*/meta-small/.*").respond(200, json=completion_json())
        big = mock.route(url__regex=r".*/meta-big/.*").respond(200, json=completion_json())
        router.completion(model="small", messages=LONG)
    assert (small.call_count, big.call_count) == (0, 1)


def _complete(model: str, **kwargs: Any) -> Any:
    with respx.mock() as mock:
        mock.route().respond(200, json=completion_json())
        return litellm.completion(model=model, messages=MESSAGES, **CREDS, **kwargs)


def test_response_model_is_the_deployment_and_keeps_the_containers_name() -> None:
    response = _complete("sagemaker_openai/ep/ic")
    # What LiteLLM's own providers (bedrock, sagemaker) and its stream builder report: the model
    # as resolved, without the provider prefix; the provider in the hidden params.
    assert response.model == "ep/ic"
    assert response._hidden_params["custom_llm_provider"] == "sagemaker_openai"
    assert response._hidden_params["container_model"] == "served-model"


def test_stream_chunks_name_the_deployment_like_the_answer() -> None:
    from provider_support import RICH_STREAM, sse

    with respx.mock() as mock:
        mock.route().respond(
            200, content=sse(*RICH_STREAM), headers={"content-type": "text/event-stream"}
        )
        chunks = list(litellm.completion(model="sagemaker_openai/ep/ic", messages=MESSAGES,
                                         stream=True, **CREDS))  # fmt: skip
    assert chunks and {chunk.model for chunk in chunks} == {"ep/ic"}
    for chunk in chunks:
        assert chunk._hidden_params["custom_llm_provider"] == "sagemaker_openai"
    assert chunks[0]._hidden_params["container_model"] == RICH_STREAM[0]["model"]


def test_completion_cost_from_the_response_with_register_model(registered: dict[str, Any]) -> None:
    response = _complete("sagemaker_openai/meta-ep/meta-ic")
    assert litellm.completion_cost(completion_response=response) == pytest.approx(COST)


def test_completion_cost_from_a_streamed_response(registered: dict[str, Any]) -> None:
    from provider_support import RICH_STREAM, sse

    with respx.mock() as mock:
        mock.route().respond(
            200, content=sse(*RICH_STREAM), headers={"content-type": "text/event-stream"}
        )
        chunks = list(litellm.completion(model="sagemaker_openai/meta-small", messages=MESSAGES,
                                         stream=True, stream_options={"include_usage": True}, **CREDS))  # fmt: skip
    built = litellm.stream_chunk_builder(chunks)
    assert litellm.completion_cost(completion_response=built) == pytest.approx(11e-6 + 22 * 2e-6)


def test_per_call_pricing_is_on_the_response() -> None:
    # Pricing passed with the call (or in a proxy deployment's litellm_params) is not in
    # LiteLLM's map, so completion_cost cannot see it; LiteLLM puts the cost on the response.
    response = _complete("sagemaker_openai/priced-per-call", **PRICES)
    assert response._hidden_params["response_cost"] == pytest.approx(COST)


def test_completion_cost_without_pricing_names_the_key_to_register() -> None:
    response = _complete("sagemaker_openai/unpriced-ep")
    with pytest.raises(litellm.exceptions.ModelNotMappedError) as info:
        litellm.completion_cost(completion_response=response)
    message = str(info.value)
    # It names this deployment under its provider, not the container's model name.
    assert "unpriced-ep" in message and "sagemaker_openai" in message
    assert "served-model" not in message and "LLM Provider NOT provided" not in message
