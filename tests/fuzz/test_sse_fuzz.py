"""The SSE decoder at scale: any byte split of a valid stream decodes the same; garbage is bounded."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from fuzz.fuzz_support import fuzz
from hypothesis import given
from hypothesis import strategies as st

from litellm_sagemaker_openai import StreamError
from litellm_sagemaker_openai._sse import DONE, SSEDecoder, aiter_sse

ENDINGS = ("\n", "\r\n", "\r")
# Payload text: any character except the three line terminators (SSE cannot carry them).
line_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=40
)
json_payload = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
).map(lambda value: json.dumps({"choices": [{"delta": {"content": value}}]}, ensure_ascii=False))
payloads = st.one_of(
    json_payload,
    st.lists(line_text, min_size=1, max_size=3).map("\n".join),  # multi-line data
).filter(lambda p: p != DONE)
noise = st.sampled_from(
    [": keep-alive", ":", "event: ping", "id: 7", "retry: 3000", "foo: bar", "event"]
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[str], bool]:
    """A valid event stream, its expected payloads, and whether it ends with [DONE]."""
    events = draw(st.lists(payloads, max_size=8))
    lines: list[str] = []
    for payload in events:
        lines += draw(st.lists(noise, max_size=2))
        if draw(st.booleans()):
            lines.append("")  # a blank line with nothing buffered dispatches nothing
        for part in payload.split("\n"):
            # "data:x" and "data: x" mean the same, unless the value itself starts with a space.
            tight = draw(st.booleans()) and not part.startswith(" ")
            lines.append(("data:" if tight else "data: ") + part)
        lines.append("")
    done = draw(st.booleans())
    if done:
        lines += ["data: [DONE]", "", "data: after done is ignored", ""]
    text, ending = "", ""
    for line in lines:
        # A CR then an empty line ended by LF would read as one CRLF: pick another ending.
        choices = ENDINGS[1:] if ending == "\r" and not line else ENDINGS
        ending = draw(st.sampled_from(choices))
        text += line + ending
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode("utf-8"), events, done


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def check_bounded(decoder: SSEDecoder, cap: int) -> None:
    """What the decoder holds between reads (a partial line, a partial event) stays in its cap."""
    assert sum(len(piece) for piece in decoder._pieces) <= cap
    assert len("\n".join(decoder._data)) <= cap and len(decoder._data) <= cap


def decode(chunks: list[bytes], cap: int | None = None) -> tuple[list[str], bool]:
    decoder = SSEDecoder(cap) if cap else SSEDecoder()
    out: list[str] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
        if cap:
            check_bounded(decoder, cap)
        if decoder.done:
            return out, True
    return out + decoder.close(), decoder.done


async def adecode(chunks: list[bytes]) -> list[str]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [payload async for payload in aiter_sse(source(), SSEDecoder())]


@fuzz()
@given(streams(), st.lists(st.integers(min_value=0, max_value=100_000), max_size=30))
def test_any_byte_split_of_a_valid_stream_gives_the_same_events(
    stream: tuple[bytes, list[str], bool], cuts: list[int]
) -> None:
    raw, events, done = stream
    assert decode([raw]) == (events, done)
    assert decode(split(raw, cuts)) == (events, done)


@fuzz(0.2)
@given(streams(), st.lists(st.integers(min_value=0, max_value=100_000), max_size=30))
def test_the_async_twin_agrees_on_every_split(
    stream: tuple[bytes, list[str], bool], cuts: list[int]
) -> None:
    raw, events, _ = stream
    assert asyncio.run(adecode(split(raw, cuts))) == events


def test_one_byte_reads_of_every_terminator_and_a_bom() -> None:
    raw = "\ufeffdata: é🙂\r\n\r\ndata: a\rdata: b\r\r: c\n\ndata: [DONE]\n\n".encode()
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == (["é🙂", "a\nb"], True)


SSE_ISH = st.sampled_from(
    [b"data:", b"data: ", b"data", b":", b"event: x", b"\n", b"\r", b"\r\n", b"\n\n", b"{", b"[",
     b"x" * 50, b"[DONE]", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xa9", b"\xf0\x9f", b" ", b"\x00"]
)  # fmt: skip
garbage = st.one_of(st.binary(max_size=4096), st.lists(SSE_ISH, max_size=200).map(b"".join))


@fuzz()
@given(
    garbage, st.lists(st.integers(min_value=0, max_value=10_000), max_size=20), st.integers(16, 512)
)
def test_garbage_gives_a_typed_error_or_clean_bounded_events(
    data: bytes, cuts: list[int], cap: int
) -> None:
    try:
        events, _ = decode(split(data, cuts), cap)
    except StreamError:
        return
    for event in events:
        assert isinstance(event, str) and event != DONE
        assert len(event) <= cap


def test_empty_data_lines_count_against_the_cap() -> None:
    # The LF joining data lines once went uncounted, so these grew without bound.
    decoder = SSEDecoder(max_event_chars=64)
    with pytest.raises(StreamError):
        decoder.feed(b"data:\n" * 1000)


def test_a_long_line_in_small_reads_costs_linear_time() -> None:
    # Each read once re-joined and re-split the whole pending line: quadratic CPU.
    line = b"data: " + b"x" * (1 << 20)  # 1 MiB, no line end yet

    def cost(read: int) -> float:
        decoder = SSEDecoder(max_event_chars=2 << 20)
        started = time.process_time()
        for at in range(0, len(line), read):
            decoder.feed(line[at : at + read])
        assert decoder.feed(b"\n\n") == ["x" * (1 << 20)]
        return time.process_time() - started

    big, small = cost(64 * 1024), cost(1024)
    # Linear work makes both costs similar; the loose factor absorbs per-call overhead and noise.
    assert small <= 10 * big + 0.05
