"""LiteLLM's CustomLLM contract, as the plugin's handler (``_handler.py``) relies on it."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import litellm
import pytest
from compat.compat_support import Probe
from litellm.litellm_core_utils.litellm_logging import Logging

MESSAGES = [{"role": "user", "content": "hi"}]
# What SageMakerOpenAI reads from LiteLLM's keyword arguments.
READ_BY_THE_PLUGIN = {"model", "messages", "optional_params", "litellm_params", "api_base",
                      "api_key", "headers", "timeout", "logging_obj"}  # fmt: skip


def _call(stream: bool, use_async: bool, **extra: Any) -> None:
    kwargs: dict[str, Any] = {"model": "compatprobe/my-endpoint", "messages": MESSAGES, **extra}
    if not use_async:
        response = litellm.completion(stream=stream, **kwargs)
        if stream:
            list(response)
        return

    async def run() -> None:
        response = await litellm.acompletion(stream=stream, **kwargs)
        if stream:
            async for _ in response:
                pass

    asyncio.run(run())


@pytest.mark.parametrize(
    ("stream", "use_async", "method"),
    [(False, False, "completion"), (False, True, "acompletion"),
     (True, False, "streaming"), (True, True, "astreaming")],
)  # fmt: skip
def test_each_call_mode_reaches_its_method_with_keyword_arguments(
    probe: Probe, stream: bool, use_async: bool, method: str
) -> None:
    _call(stream, use_async)
    called = [call.method for call in probe.calls]
    mode = f"{'a' if use_async else ''}completion(stream={stream})"
    assert called == [method], (
        f"CustomLLM dispatch changed: litellm.{mode} called {called}, not [{method!r}]; "
        "SageMakerOpenAI implements exactly completion/acompletion/streaming/astreaming"
    )
    (call,) = probe.calls
    assert call.args == (), (
        f"LiteLLM now passes positional arguments to CustomLLM.{method} ({len(call.args)}); "
        "the plugin's methods take keyword arguments only"
    )
    missing = READ_BY_THE_PLUGIN - set(call.kwargs)
    assert not missing, f"CustomLLM.{method} no longer receives the keyword arguments {missing}"
    assert call.kwargs["model"] == "my-endpoint", (
        "the model reaching a CustomLLM is no longer the text after the provider prefix: "
        f"{call.kwargs['model']!r}"
    )


def test_inference_component_and_custom_params_reach_the_handler(probe: Probe) -> None:
    litellm.completion(
        model="compatprobe/my-endpoint/my-ic", messages=MESSAGES, model_id="my-ic",
        container_model="", temperature=0, extra_body={"top_k": 5},
    )  # fmt: skip
    (call,) = probe.calls
    assert call.kwargs["model"] == "my-endpoint/my-ic", (
        "a model string with two parts after the prefix no longer reaches the CustomLLM whole: "
        f"{call.kwargs['model']!r}"
    )
    params = {**call.kwargs["litellm_params"], **call.kwargs["optional_params"]}
    for name, value in {"model_id": "my-ic", "container_model": ""}.items():
        assert params.get(name) == value, (
            f"the custom parameter {name!r} no longer reaches the CustomLLM in optional_params "
            "or litellm_params"
        )
    optional = call.kwargs["optional_params"]
    assert optional.get("temperature") == 0, "temperature=0 no longer reaches optional_params as 0"
    assert optional.get("extra_body") == {"top_k": 5}, (
        "extra_body no longer arrives nested in optional_params; the plugin merges it into the body"
    )


def test_user_reaches_the_handler(probe: Probe) -> None:
    litellm.completion(model="compatprobe/ep", messages=MESSAGES, user="user-42")
    (call,) = probe.calls
    on_logging = getattr(call.kwargs["logging_obj"], "user", None)
    assert "user-42" in (call.kwargs["optional_params"].get("user"), on_logging), (
        "the OpenAI `user` field no longer reaches a CustomLLM, neither in optional_params nor "
        "as logging_obj.user; the plugin forwards it to the container"
    )


def test_headers_and_timeout_reach_the_handler(probe: Probe) -> None:
    litellm.completion(
        model="compatprobe/ep", messages=MESSAGES, timeout=33, api_base="http://127.0.0.1:9",
        extra_headers={"X-Amzn-SageMaker-Custom-Attributes": "a=1"},
    )  # fmt: skip
    (call,) = probe.calls
    assert float(call.kwargs["timeout"]) == 33.0, "timeout= no longer reaches CustomLLM.timeout"
    assert call.kwargs["api_base"] == "http://127.0.0.1:9", "api_base= no longer reaches CustomLLM"
    assert (call.kwargs["headers"] or {}).get("X-Amzn-SageMaker-Custom-Attributes") == "a=1", (
        "extra_headers no longer reach CustomLLM.headers"
    )


def test_logging_pre_call_accepts_what_the_plugin_sends() -> None:
    # _handler._log_pre_call: logging_obj.pre_call(input=, api_key=, additional_args=)
    parameters = inspect.signature(Logging.pre_call).parameters
    missing = {"input", "api_key", "additional_args"} - set(parameters)
    assert not missing, (
        f"Logging.pre_call no longer takes {missing}; the plugin logs requests with it"
    )
