"""stream_coalesce_ms: what merges, what never does, the option, the read-ahead, and streams
through LiteLLM (respx).

The window's edges are in tests/provider/test_window.py; generated streams in
tests/fuzz/test_coalesce_fuzz.py; the reference's token cadence, on against off, and callers
that leave in tests/integration/test_coalesce_loopback.py; a real proxy with the OpenAI SDK in
tests/integration/test_proxy_coalesce.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, MESSAGES, RICH_STREAM, chunk, sse, usage_chunk

from litellm_sagemaker_openai import _batches
from litellm_sagemaker_openai._batches import ReadAhead
from litellm_sagemaker_openai._coalesce import coalesce_chunks
from litellm_sagemaker_openai._sse import SSEDecoder

SSE_HEADERS = {"content-type": "text/event-stream"}


def merged(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return coalesce_chunks(copy.deepcopy(list(events)))


def test_text_logprobs_and_finish_merge_into_the_first_chunk() -> None:
    lp = [{"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}]
    out = merged(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel", "reasoning_content": "th"}, logprobs={"content": lp}),
        chunk({"content": "lo", "reasoning_content": "ink"}, logprobs={"content": lp * 2}),
        chunk({}, "stop", stop_reason=None),
    )
    assert len(out) == 1
    choice = out[0]["choices"][0]
    assert choice["delta"] == {
        "role": "assistant",
        "content": "Hello",
        "reasoning_content": "think",
    }
    assert choice["logprobs"] == {"content": lp * 3}
    assert choice["finish_reason"] == "stop"


def test_tool_call_fragments_join_per_index() -> None:
    out = merged(*RICH_STREAM[4:9])
    assert len(out) == 1
    calls = out[0]["choices"][0]["delta"]["tool_calls"]
    assert [(c["index"], c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        (0, "call_a", "get_weather", '{"city": "Paris"}'), (1, "call_b", "get_time", "{}")]  # fmt: skip
    assert out[0]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("second", "why"),
    [
        ({**chunk({"content": "b"}), "id": "chatcmpl-other"}, "another id"),
        ({**chunk({"content": "b"}), "model": "other-model"}, "another model"),
        ({**chunk({"content": "b"}), "choices": [{"index": 1, "delta": {"content": "b"}}]}, "choice 1"),
        (chunk({"role": "assistant", "content": "b"}), "a new role"),
        ({**chunk({"content": "b"}), "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}, "usage"),
        (usage_chunk(), "a usage-only chunk"),
        ({**chunk({"content": "b"}), "choices": [{"index": 0, "delta": {"content": "b"}}] * 2}, "two choices"),
        (chunk({"function_call": {"name": "x"}}), "an unknown field set twice"),
        (chunk({"content": "b"}, matched_stop="x"), "a choice field set twice"),
        (chunk({"content": 7}), "content that is not text"),
    ],
)  # fmt: skip
def test_never_merged(second: dict[str, Any], why: str) -> None:
    first = chunk({"content": "a", "function_call": {"name": "f"}}, matched_stop="y")
    assert len(merged(first, second)) == 2, why


@pytest.mark.parametrize(
    ("fragments", "why"),
    [
        ([{"index": 0, "id": "call_x", "function": {"arguments": "1"}}], "a second id for index 0"),
        ([{"index": 0, "function": {"name": "again", "arguments": "1"}}], "a second name"),
        ([{"index": 0, "type": "function", "function": {"arguments": "1"}}], "a second type"),
        ([{"function": {"arguments": "1"}}], "no index"),
        ([{"index": "0", "function": {"arguments": "1"}}], "an index that is not an int"),
        ([{"index": 0, "function": {"arguments": 1}}], "arguments that are not text"),
    ],
)
def test_tool_fragments_never_merged(fragments: list[dict[str, Any]], why: str) -> None:
    first = chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                   "function": {"name": "f", "arguments": ""}}]})  # fmt: skip
    assert len(merged(first, chunk({"tool_calls": fragments}))) == 2, why


def test_nothing_merges_after_a_finish_reason() -> None:
    assert len(merged(chunk({"content": "a"}, "length"), chunk({"content": "b"}))) == 2


def test_a_run_stops_at_the_first_unmergeable_chunk_and_starts_again() -> None:
    out = merged(
        chunk({"content": "a"}), chunk({"content": "b"}), usage_chunk(),
        chunk({"content": "c"}), chunk({"content": "d"}),
    )  # fmt: skip
    assert [c["choices"][0]["delta"].get("content") if c["choices"] else None for c in out] == [
        "ab", None, "cd"]  # fmt: skip


def test_a_bad_option_is_a_configuration_error_before_any_request() -> None:
    with (
        respx.mock(assert_all_called=False) as mock,
        pytest.raises(litellm.BadRequestError, match="stream_coalesce_ms must be a number"),
    ):
        route = mock.post(EP_URL).respond(200, content=sse(*RICH_STREAM), headers=SSE_HEADERS)
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, stream=True,
                           stream_coalesce_ms="soon", **CREDS)  # fmt: skip
    assert not route.called


def _stream(sync: bool, coalesce: float, events: tuple[dict[str, Any], ...]) -> list[Any]:
    args = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "stream": True,
            "stream_options": {"include_usage": True}, "stream_coalesce_ms": coalesce, **CREDS}  # fmt: skip
    if sync:
        return list(litellm.completion(**args))

    async def run() -> list[Any]:
        return [c async for c in await litellm.acompletion(**args)]

    return asyncio.run(run())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_litellm_builds_the_same_message_from_fewer_chunks(sync: bool) -> None:
    """respx delivers the body in one piece: every mergeable event after the first is merged."""
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, content=sse(*RICH_STREAM), headers=SSE_HEADERS)
        plain = _stream(sync, 0, RICH_STREAM)
        coalesced = _stream(sync, 50, RICH_STREAM)
    assert "stream_coalesce_ms" not in json.loads(route.calls[-1].request.content)
    # The first event; the rest merged; LiteLLM's own finish chunk; usage.
    assert len(coalesced) == 4 < len(plain)

    def built(chunks: list[Any]) -> dict[str, Any]:
        message = litellm.stream_chunk_builder(chunks)
        out = message.model_dump(exclude={"id", "created"})
        for choice in out["choices"]:
            for call in choice["message"].get("tool_calls") or []:
                call.pop("index", None)
        return out

    assert built(coalesced) == built(plain)
    assert coalesced[-1].usage.total_tokens == plain[-1].usage.total_tokens == 33


async def _pieces(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


async def _take_all(ahead: ReadAhead) -> list[list[str]]:
    batches: list[list[str]] = []
    while await ahead.wait():
        batch, _ = ahead.take()
        if not batch:
            return batches
        batches.append(batch)
    raise AssertionError("wait() without a deadline returned False")


@pytest.mark.asyncio
async def test_read_ahead_pauses_at_its_limit_and_delivers_everything_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_batches, "READ_AHEAD_CHARS", 30)
    events = [f'data: {{"n": {i}, "pad": "{"x" * 10}"}}\n\n'.encode() for i in range(20)]
    ahead = ReadAhead(_pieces(*events, b"data: [DONE]\n\n"), SSEDecoder())
    await ahead.wait(deadline=0)  # starts the reader, returns at once
    await asyncio.sleep(0.05)  # the reader runs alone: it must stop at the limit, not read all
    batches = await _take_all(ahead)
    assert [json.loads(p)["n"] for b in batches for p in b] == list(range(20))
    assert len(batches) > 1 and max(sum(map(len, b)) for b in batches) < 30 + 40


@pytest.mark.asyncio
async def test_read_ahead_raises_a_read_error_after_the_payloads_before_it() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b'data: {"n": 1}\n\n'
        raise httpx.ReadError("connection reset")

    ahead = ReadAhead(broken(), SSEDecoder())
    assert await ahead.wait()
    assert ahead.take()[0] == ['{"n": 1}']
    assert await ahead.wait()
    with pytest.raises(httpx.ReadError):
        ahead.take()


@pytest.mark.asyncio
async def test_read_ahead_stop_cancels_its_reader() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            yield b'data: {"n": 1}\n\n'

    ahead = ReadAhead(endless(), SSEDecoder())
    assert await ahead.wait() and ahead.take()[0]
    await ahead.stop()
    assert not [t for t in asyncio.all_tasks() if "ReadAhead._read" in repr(t.get_coro())]
