"""Body faults: malformed SSE lines, truncated JSON, a 10 MB line, an endless body."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import litellm
import pytest
from faults.faults_calls import assert_failed, call
from faults.faults_support import PARTIAL, WHOLE_STREAM, Conn, Hit, chunk, event, loopback

from litellm_sagemaker_openai._errors import SageMakerStreamError
from litellm_sagemaker_openai._exceptions import StreamError
from litellm_sagemaker_openai._sse import MAX_EVENT_CHARS, SSEDecoder

MiB = 1024 * 1024
SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}
TAIL = event(chunk({"content": " more"})) + event(chunk({}, "stop")) + event("[DONE]")


def _serve(stream_body: bytes, plain_body: bytes, plain_type: dict[str, str] = JSON) -> Any:
    """A complete, well-framed response whose content is the fault. A stream sends its first
    two events (the partial answer) on their own, so the client has them before the fault."""

    async def handler(hit: Hit, conn: Conn) -> None:
        if hit.stream:
            assert stream_body.startswith(PARTIAL)
            await conn.head(200, SSE, chunked=True)
            await conn.write(PARTIAL)
            await asyncio.sleep(0.05)
            await conn.write(stream_body[len(PARTIAL) :])
            await conn.end()
        else:
            await conn.respond(200, plain_body, plain_type)

    return handler


# line -> the message the caller's error must carry. Each line comes after a partial answer and
# is followed by a proper finish and [DONE]: the stream must stop at the bad line, not skip it.
MALFORMED = {
    "not-json": (b"data: hello world", "not JSON"),
    "json-array": (b"data: [1, 2]", "not an object"),
    "bare-json-line": (b'{"id": "c", "choices": []}', "JSON lines"),
    "invalid-utf8": (b"data: \xff\xfe{}", "not valid UTF-8"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_sse_line_is_a_typed_error(case: str, sync: bool, stream: bool) -> None:
    line, words = MALFORMED[case]
    # Without stream, the same bytes come as the body: a container answering SSE (or junk)
    # to a non-stream request.
    handler = _serve(PARTIAL + line + b"\n\n" + TAIL, PARTIAL + line + b"\n\n" + TAIL, SSE)
    with loopback(handler) as server:
        out = call(server.url, sync=sync, stream=stream)
    error = assert_failed(out, SageMakerStreamError, wrapped=stream)
    assert (words if stream else "not a chat completion") in str(error)
    if stream:
        assert out.text == "partial "


@pytest.mark.parametrize(
    "line", [b"garbage without a colon", b": a comment", b"event: ping", b"retry: 10", b"id: 7"]
)
def test_lines_the_sse_spec_ignores_do_not_break_the_answer(line: bytes, sync: bool) -> None:
    # WHATWG: unknown field names (a line without ':' is a field with an empty value) and
    # comments are ignored; the answer after them is complete.
    with loopback(_serve(PARTIAL + line + b"\n\n" + TAIL, b"")) as server:
        out = call(server.url, sync=sync, stream=True)
    assert out.error is None and out.pool_problems == []
    assert out.text == "partial  more" and out.finish_reasons == ["stop"]


TRUNCATED = b'{"id": "chatcmpl-fault", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hel'


@pytest.mark.parametrize("then", ["more-events", "close"])
def test_truncated_json_is_a_typed_error(then: str, sync: bool, stream: bool) -> None:
    # "more-events": the event is complete (blank line) but its JSON is cut, and a proper end
    # follows; "close": the stream ends inside the event, so it is dropped (WHATWG) and the
    # stream has no [DONE] and no finish_reason. A non-stream body is cut JSON either way.
    body = PARTIAL + b"data: " + TRUNCATED + (b"\n\n" + TAIL if then == "more-events" else b"")
    with loopback(_serve(body, TRUNCATED)) as server:
        out = call(server.url, sync=sync, stream=stream)
    error = assert_failed(out, SageMakerStreamError, wrapped=stream)
    if stream:
        assert out.text == "partial "
        assert ("not JSON" if then == "more-events" else "before [DONE]") in str(error)
    else:
        assert "not a chat completion" in str(error)


def _ten_mb_line(split_in_data_lines: bool) -> Any:
    async def handler(hit: Hit, conn: Conn) -> None:
        if not hit.stream:
            await conn.respond(200, b"a" * (10 * MiB))  # complete, JSON-less
            return
        await conn.head(200, SSE, chunked=True)
        await conn.write(PARTIAL)
        if split_in_data_lines:  # 10 x 1 MiB `data:` lines of one never-ending event
            for _ in range(10):
                await conn.write(b"data: " + b"a" * MiB + b"\n")
        else:  # one 10 MiB line with no line break at all
            await conn.write(b"data: " + b"a" * (10 * MiB))
        await conn.hang()  # and then nothing: only the decoder's bound can end this

    return handler


@pytest.mark.parametrize("shape", ["one-line", "data-lines"])
def test_ten_mb_line_hits_the_decoder_bound(shape: str, sync: bool, stream: bool) -> None:
    with loopback(_ten_mb_line(shape == "data-lines")) as server:
        out = call(server.url, sync=sync, stream=stream)
    error = assert_failed(out, SageMakerStreamError, wrapped=stream)
    if stream:
        assert f"exceeded {MAX_EVENT_CHARS} characters" in str(error)
        assert out.text == "partial "
    else:
        # 10 MB is over the 8 MiB body bound, so the read stops before any JSON parsing.
        assert "exceeded 8388608 bytes" in str(error)


def _endless(sent: list[int]) -> Any:
    # 64 MiB of one line, written as fast as the client reads it; ``sent`` counts what the
    # client accepted (plus what the kernel buffers hold) before it hung up.
    async def handler(hit: Hit, conn: Conn) -> None:
        await conn.head(200, SSE if hit.stream else JSON, chunked=True)
        await conn.write(b"data: " if hit.stream else b'{"a": "')
        for _ in range(64):
            await conn.write(b"a" * MiB)
            sent[0] += MiB
        await conn.end()

    return handler


@pytest.mark.parametrize(
    "stream",
    [False, True],
    ids=["plain", "stream"],
)
def test_an_endless_body_is_not_buffered_without_bound(sync: bool, stream: bool) -> None:
    sent = [0]
    with loopback(_endless(sent)) as server:
        out = call(server.url, sync=sync, stream=stream)
    assert_failed(out, SageMakerStreamError, wrapped=stream)
    # The bound is 8 MiB; loopback socket buffers may hold a few MiB more on top.
    assert sent[0] < 32 * MiB, f"the client took {sent[0] // MiB} MiB before giving up"


def _cpu_to_reach_the_bound(piece: int, bound: int) -> float:
    decoder = SSEDecoder(max_event_chars=bound)
    data = b"data: " + b"a" * (bound + piece)
    start = time.thread_time()
    with pytest.raises(StreamError, match="exceeded"):
        for offset in range(0, len(data), piece):
            decoder.feed(data[offset : offset + piece])
    return time.thread_time() - start


def test_reaching_the_line_bound_costs_linear_cpu() -> None:
    # Regression (fixed in b5adb40): the decoder re-joined and re-split the whole pending line
    # on every read, so 10 MiB in 16 KiB reads cost ~7 s of CPU before the bound fired.
    # The same bytes fed in 4 KiB reads or in one read: a linear decoder costs about the same
    # either way (~1x); a quadratic one about bound / (2 x 4 KiB) = 128x more. The bound is
    # lowered to 1 MiB to keep this fast; the cost ratio is the same at 8 MiB.
    bound = MiB
    coarse = min(_cpu_to_reach_the_bound(bound, bound) for _ in range(3))
    fine = min(_cpu_to_reach_the_bound(4096, bound) for _ in range(2))
    assert fine < 10 * max(coarse, 0.001), f"4 KiB reads: {fine:.3f} s, one read: {coarse:.3f} s"


def test_reference_container_jsonlines_is_a_typed_error(route: str, sync: bool) -> None:
    # The reference container's `jsonlines` switch (LMI-style output), through the route.
    out = call(route, sync=sync, stream=True, model="sagemaker_openai/jsonlines")
    error = assert_failed(out, SageMakerStreamError, wrapped=True)
    assert "JSON lines" in str(error)


def test_reference_container_error_frame_mid_stream(route: str, sync: bool, stream: bool) -> None:
    # The reference container's `mid_stream_error` switch: after two tokens it sends
    # `data: {"error": {..., "code": 500}}` (vLLM's shape) and ends. Non-stream is unaffected.
    out = call(
        route,
        sync=sync,
        stream=stream,
        model="sagemaker_openai/errorframe",
        messages=[{"role": "user", "content": "one two three four five six"}],
    )
    if not stream:
        assert out.error is None and out.pool_problems == []
        assert out.message.choices[0].finish_reason == "stop"
        return
    error = assert_failed(out, litellm.InternalServerError, wrapped=True)
    assert "failed mid-stream on purpose" in str(error)
    assert out.text  # the tokens before the error frame arrived, unfinished


def test_whole_stream_control(sync: bool) -> None:
    # The same server shape without a fault gives a complete answer.
    with loopback(_serve(WHOLE_STREAM, b"")) as server:
        out = call(server.url, sync=sync, stream=True)
    assert out.error is None and out.finish_reasons == ["stop"]
