"""Wire encoding of planned stream frames (SSE or JSON lines) and their paced delivery."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

from starlette.responses import Response, StreamingResponse

from conformance._reference._config import ReferenceConfig
from conformance._reference._render import Frame

SSE_MEDIA_TYPE: Final = "text/event-stream"
JSONLINES_MEDIA_TYPE: Final = "application/jsonlines"
PING_EVENT: Final = b"event: ping\n\n"
DONE_EVENT: Final = b"data: [DONE]\n\n"
# Ask intermediaries (nginx and friends) not to buffer or cache the stream.
STREAM_HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def to_json(payload: Any) -> str:
    """Compact one-line JSON, UTF-8 left as is (json.dumps escapes any newline in strings)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def encode_frames(frames: Sequence[Frame], config: ReferenceConfig) -> list[tuple[float, bytes]]:
    """(delay in seconds, bytes) per write, with the framing faults applied."""
    writes: list[tuple[float, bytes]] = []
    if config.has("jsonlines"):
        # LMI's jsonlines streams carry one JSON object per line and no [DONE] sentinel.
        for frame in frames:
            if frame.payload is not None:
                writes.append((frame.delay, (to_json(frame.payload) + "\n").encode()))
        return writes
    for frame in frames:
        if frame.payload is None:
            writes.append((frame.delay, DONE_EVENT))
            continue
        writes.append((frame.delay, f"data: {to_json(frame.payload)}\n\n".encode()))
        if config.has("event_ping"):
            writes.append((0.0, PING_EVENT))
    return writes


class Running:
    """How many generations run now: what vLLM's `num_requests_running` gauge counts."""

    def __init__(self) -> None:
        self.count = 0

    def release(self) -> None:
        """One generation ended."""
        self.count -= 1


async def stream_response(
    frames: Sequence[Frame], config: ReferenceConfig, running: Running | None = None
) -> Response:
    """The streaming response: one flushed write per frame, each after its delay."""
    writes = encode_frames(frames, config)
    if config.has("jsonlines"):
        media_type = JSONLINES_MEDIA_TYPE
    elif config.has("wrong_content_type"):
        media_type = "application/json"
    else:
        media_type = SSE_MEDIA_TYPE
    if config.has("buffered"):
        # Generate at the normal pace, but hold everything (headers too) until the end.
        await asyncio.sleep(sum(delay for delay, _ in writes))
        whole = b"".join(data for _, data in writes)
        return Response(whole, media_type=media_type, headers=STREAM_HEADERS)
    if config.headers_after_ttft and writes:
        # The first chunk's delay is spent before the headers go out, and not again after.
        await asyncio.sleep(writes[0][0])
        writes[0] = (0.0, writes[0][1])
    hold = config.hold_after_done_s if config.has("done_then_hold") else 0.0
    body = _paced(writes, config.stamp_sent_at, hold)
    if running is not None:
        left = config.abandoned_run_s if config.has("generate_after_disconnect") else 0.0
        body = _counted(body, running, left)
    return StreamingResponse(body, media_type=media_type, headers=STREAM_HEADERS)


async def _counted(
    body: AsyncIterator[bytes], running: Running, left: float
) -> AsyncIterator[bytes]:
    """`body`, counted as running while it is sent; `left` seconds longer if the client leaves."""
    running.count += 1
    finished = False
    try:
        async for data in body:
            yield data
        finished = True
    finally:
        if finished or left <= 0:
            running.release()
        else:
            # generate_after_disconnect: the generation nobody reads keeps its slot busy.
            asyncio.get_running_loop().call_later(left, running.release)


def stamp_sent_at(data: bytes, now: float) -> bytes:
    """Add `"sent_at": now` as the last field of a `data: {...}` event; other bytes unchanged."""
    if not (data.startswith(b"data: {") and data.endswith(b"}\n\n")):
        return data
    return data[:-3] + b',"sent_at":%.6f}\n\n' % now


async def _paced(
    writes: list[tuple[float, bytes]], stamp: bool, hold: float = 0.0
) -> AsyncIterator[bytes]:
    for delay, data in writes:
        if delay > 0:
            await asyncio.sleep(delay)
        # Stamped after the sleep, right before the write: the chunk's departure time.
        yield stamp_sent_at(data, time.time()) if stamp else data
    if hold > 0:
        # done_then_hold: the last event went out, the connection stays open.
        await asyncio.sleep(hold)
