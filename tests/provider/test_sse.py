"""The one SSE decoder: framing rules, awkward byte splits, garbage, bounded buffers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm_sagemaker_openai import StreamError
from litellm_sagemaker_openai._sse import SSEDecoder, aiter_sse, iter_sse

EVENTS = [json.dumps({"n": i, "text": "héllo €🙂 \u2028 line"}) for i in range(5)]
VALID = "".join(f"data: {e}\n\n" for e in EVENTS).encode() + b"data: [DONE]\n\n"


def decode(chunks: list[bytes], max_chars: int | None = None) -> tuple[list[str], bool]:
    decoder = SSEDecoder(max_chars) if max_chars else SSEDecoder()
    return list(iter_sse(chunks, decoder)), decoder.done


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.parametrize(
    ("raw", "payloads"),
    [
        (b"data: a\n\n", ["a"]),
        (b"data:a\r\n\r\n", ["a"]),
        (b"data: a\r\rdata: b\r\r", ["a", "b"]),
        (b"data: line1\ndata: line2\n\n", ["line1\nline2"]),
        (b": comment\ndata: x\n\n", ["x"]),
        (
            b"event: ping\n\nretry: 3000\n\nid: 1\n\ndata: y\n\n",
            ["y"],
        ),  # data-less frames never surface
        (b"\xef\xbb\xbfdata: bom\n\n", ["bom"]),
        (b"data:  two spaces\n\n", [" two spaces"]),
        (b"data: x\n\ndata: [DONE]\n\ndata: after\n\n", ["x"]),
        (b"data: unterminated", []),  # an event not ended by a blank line is dropped, per spec
    ],
)
def test_framing(raw: bytes, payloads: list[str]) -> None:
    assert decode([raw])[0] == payloads


@pytest.mark.parametrize("done", [b"[DONE] ", b"[DONE]\t", b"[DONE]  \r\n", b"[DONE]\r"])
def test_done_with_trailing_whitespace_ends_the_stream(done: bytes) -> None:
    # The OpenAI SDK ends at any data that starts with [DONE]; so does the decoder.
    payloads, done_seen = decode([b"data: x\n\ndata: " + done + b"\n\ndata: after\n\n"])
    assert payloads == ["x"] and done_seen


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_any_byte_split_gives_the_same_events(cuts: list[int]) -> None:
    for body in (VALID, VALID.replace(b"\n", b"\r\n"), VALID.replace(b"\n", b"\r")):
        events, done = decode(split(body, cuts))
        assert events == EVENTS and done


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0, max_value=2000), max_size=10))
def test_garbage_gives_a_typed_error_or_clean_events(garbage: bytes, cuts: list[int]) -> None:
    try:
        events, _ = decode(split(garbage, cuts), max_chars=512)
    except StreamError:
        return
    assert all(isinstance(e, str) and len(e) <= 512 for e in events)


def test_split_utf8_and_crlf_across_reads() -> None:
    raw = "data: é🙂\r\n\r\n".encode()
    pieces = [raw[:7], raw[7:9], raw[9:-3], raw[-3:-2], raw[-2:]]
    assert decode(pieces)[0] == ["é🙂"]


def test_a_line_without_end_is_bounded() -> None:
    with pytest.raises(StreamError, match="without a line break"):
        decode([b"data: " + b"x" * 600], max_chars=512)
    with pytest.raises(StreamError, match="exceeded"):
        decode([b"data: " + b"x" * 300 + b"\ndata: " + b"y" * 300 + b"\n"], max_chars=512)


def test_json_lines_are_named() -> None:
    with pytest.raises(StreamError, match="JSON lines"):
        decode([b'{"choices": []}\n'])


def test_invalid_utf8_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="UTF-8"):
        decode([b"data: \xff\xfe\n\n"])


def test_async_twin_agrees() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in split(VALID, [3, 50, 51, 52, 120, 400]):
            yield piece

    async def run() -> list[str]:
        return [p async for p in aiter_sse(chunks(), SSEDecoder())]

    assert asyncio.run(run()) == EVENTS
