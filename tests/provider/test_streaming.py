"""Stream fidelity through LiteLLM, sync and async (respx); loopback timing lives in tests/integration."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import litellm
import pytest
import respx
from litellm.integrations.custom_logger import CustomLogger
from provider_support import CREDS, EP_URL, MESSAGES, RICH_STREAM, chunk, sse, usage_chunk

PRICING = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
SSE_HEADERS = {"content-type": "text/event-stream"}


def _original(exc: BaseException) -> BaseException:
    # LiteLLM wraps errors raised inside a stream in MidStreamFallbackError; ours is inside.
    return getattr(exc, "original_exception", None) or exc


def _collect(sync: bool, settle: list[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Consume a stream; with ``settle``, wait (on the same loop) until a callback filled it."""
    args = {
        "model": "sagemaker_openai/ep",
        "messages": MESSAGES,
        "stream": True,
        **CREDS,
        **PRICING,
        **kwargs,
    }
    if sync:
        chunks = list(litellm.completion(**args))
        for _ in range(100 if settle is not None and not settle else 0):
            if settle:
                break
            threading.Event().wait(0.02)
        return chunks

    async def run() -> list[Any]:
        stream = await litellm.acompletion(**args)
        chunks = [c async for c in stream]
        for _ in range(100 if settle is not None else 0):
            if settle:
                break
            await asyncio.sleep(0.02)
        return chunks

    return asyncio.run(run())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_every_field_survives(sync: bool) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*RICH_STREAM), headers=SSE_HEADERS)
        chunks = _collect(sync, stream_options={"include_usage": True})
    assert {c.id for c in chunks} == {"chatcmpl-1"}
    assert chunks[0].system_fingerprint == "fp_1"
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == "thinking"
    assert "".join(d.content or "" for d in deltas) == "Hello"
    logprobs = [c.choices[0].logprobs for c in chunks if c.choices and c.choices[0].logprobs]
    assert logprobs and logprobs[0]["content"][0]["token"] == "Hel"
    built = litellm.stream_chunk_builder(chunks)
    message = built.choices[0].message
    calls = {c.id: (c.function.name, c.function.arguments) for c in message.tool_calls}
    assert calls == {"call_a": ("get_weather", '{"city": "Paris"}'), "call_b": ("get_time", "{}")}
    assert built.choices[0].finish_reason == "tool_calls"
    assert message.reasoning_content == "thinking"
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (11, 22, 33)


class CostSpy(CustomLogger):
    """Records the cost LiteLLM logs; registered once, since LiteLLM dedupes loggers by class."""

    costs: list[float] = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.costs.append(kwargs.get("response_cost"))

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.costs.append(kwargs.get("response_cost"))


COST_SPY = CostSpy()
litellm.callbacks.append(COST_SPY)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_usage_is_hidden_unless_asked_but_cost_uses_container_usage(sync: bool) -> None:
    COST_SPY.costs.clear()
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*RICH_STREAM), headers=SSE_HEADERS)
        chunks = _collect(sync, settle=COST_SPY.costs)
    assert all(getattr(c, "usage", None) is None or c.usage.total_tokens in (0, 33) for c in chunks)
    assert COST_SPY.costs and COST_SPY.costs[0] == pytest.approx(11 * 1e-6 + 22 * 2e-6)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_cumulative_usage_keeps_only_the_last(sync: bool) -> None:
    events = [
        {
            **chunk({"role": "assistant", "content": "a"}),
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        },
        {
            **chunk({"content": "b"}),
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
        {**chunk({}, "stop"), "usage": None},
        usage_chunk(5, 2),
    ]
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events), headers=SSE_HEADERS)
        chunks = _collect(sync, stream_options={"include_usage": True})
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ab"
    assert chunks[-1].usage.total_tokens == 7


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_vllm_reasoning_field_becomes_reasoning_content(sync: bool) -> None:
    events = [
        chunk({"role": "assistant", "reasoning": "hmm"}),
        chunk({"content": "ok"}),
        chunk({}, "stop"),
    ]
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events), headers=SSE_HEADERS)
        chunks = _collect(sync)
    assert (
        "".join(
            getattr(c.choices[0].delta, "reasoning_content", None) or ""
            for c in chunks
            if c.choices
        )
        == "hmm"
    )


def test_nonstream_keeps_fields_and_normalises_reasoning() -> None:
    from provider_support import completion_json

    body = completion_json(
        "hi",
        reasoning="why",
        tool_calls=[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    )
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=body)
        response = litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, **CREDS, **PRICING
        )
    message = response.choices[0].message
    assert message.content == "hi" and message.reasoning_content == "why"
    assert message.tool_calls[0].id == "c1"
    assert response.id == "chatcmpl-9" and response.system_fingerprint == "fp_9"
    assert response.usage.total_tokens == 7
    assert response._hidden_params["response_cost"] == pytest.approx(3e-6 + 8e-6)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_json_lines_stream_is_named_in_the_error(sync: bool) -> None:
    body = b"".join(json.dumps(e).encode() + b"\n" for e in RICH_STREAM[:3])
    with respx.mock() as mock:
        mock.post(EP_URL).respond(
            200, content=body, headers={"content-type": "application/jsonlines"}
        )
        with pytest.raises(litellm.ServiceUnavailableError) as info:
            _collect(sync)
    error = _original(info.value)
    assert isinstance(error, litellm.BadGatewayError)
    assert "JSON lines" in str(error) and "LMI" in str(error)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_mid_stream_error_frame_raises(sync: bool) -> None:
    events = [
        chunk({"role": "assistant", "content": "par"}),
        {"error": {"message": "engine died", "type": "InternalServerError", "code": 500}},
    ]
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events, done=False), headers=SSE_HEADERS)
        with pytest.raises(litellm.ServiceUnavailableError) as info:
            _collect(sync)
    error = _original(info.value)
    assert isinstance(error, litellm.InternalServerError) and "engine died" in str(error)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_stream_cut_before_any_finish_is_an_error_not_a_silent_end(sync: bool) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(
            200,
            content=sse(chunk({"role": "assistant", "content": "par"}), done=False),
            headers=SSE_HEADERS,
        )
        with pytest.raises(litellm.ServiceUnavailableError) as info:
            _collect(sync)
    error = _original(info.value)
    assert isinstance(error, litellm.BadGatewayError) and "incomplete" in str(error)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_missing_done_after_a_finish_is_tolerated_like_the_openai_sdk(sync: bool) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(
            200,
            content=sse(
                chunk({"role": "assistant", "content": "x"}), chunk({}, "stop"), done=False
            ),
            headers=SSE_HEADERS,
        )
        chunks = _collect(sync)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "x"


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_malformed_json_event_raises(sync: bool) -> None:
    body = (
        sse(chunk({"role": "assistant", "content": "x"}), done=False) + b'data: {"choices": [\n\n'
    )
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=body, headers=SSE_HEADERS)
        with pytest.raises(litellm.ServiceUnavailableError) as info:
            _collect(sync)
    assert "not JSON" in str(_original(info.value))


def test_connection_error_while_streaming_is_mapped() -> None:
    def broken() -> Any:
        yield sse(chunk({"role": "assistant", "content": "x"}), done=False)
        raise httpx.RemoteProtocolError("peer closed connection")

    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, stream=broken(), headers=SSE_HEADERS)
        with pytest.raises(litellm.ServiceUnavailableError) as info:
            _collect(True)
    assert isinstance(_original(info.value), litellm.APIConnectionError)
