"""The opt-in `stamp_sent_at` switch: a send-time stamp on every SSE chunk, for benchmarks."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance._reference._stream import stamp_sent_at


@pytest.mark.asyncio
async def test_chunks_carry_no_stamp_by_default(ref: Any) -> None:
    async with ref.client() as client:
        response = await client.post("/v1/chat/completions", json=ref.body(stream=True))
    assert all("sent_at" not in chunk for chunk in ref.chunks(response.text))


@pytest.mark.asyncio
async def test_every_chunk_is_stamped_with_its_send_time(ref: Any) -> None:
    body = ref.body("one two three", stream=True, stream_options={"include_usage": True})
    before = time.time()
    async with ref.client(stamp_sent_at=True, itl_ms=2) as client:
        response = await client.post("/v1/chat/completions", json=body)
    after = time.time()
    chunks = ref.chunks(response.text)  # still strict SSE, one [DONE], valid JSON
    stamps = [chunk.pop("sent_at") for chunk in chunks]
    assert all(isinstance(s, float) and before <= s <= after for s in stamps)
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 0.002  # paced, in order
    assert chunks[-1]["usage"] and chunks[-1]["choices"] == []
    assert [c["choices"][0]["delta"] for c in chunks[:2]] == [
        {"role": "assistant", "content": ""},
        {"content": "You"},
    ]


@pytest.mark.parametrize(
    "frame", [b"data: [DONE]\n\n", b"event: ping\n\n", b'{"id": "x"}\n', b"data: {}\n"]
)
def test_only_data_object_events_are_stamped(frame: bytes) -> None:
    assert stamp_sent_at(frame, 1.5) == frame


def test_the_stamp_is_the_last_field_of_the_object() -> None:
    assert stamp_sent_at(b'data: {"a":1}\n\n', 12.25) == b'data: {"a":1,"sent_at":12.250000}\n\n'
