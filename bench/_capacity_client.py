"""The clients of ``proxy_capacity``: N concurrent streams through a proxy, chunk delays measured.

``python -m bench._capacity_client --plan JSON`` prints one JSON line. It runs in a process of
its own, pinned away from the proxy, and is as cheap per chunk as it can be: raw asyncio
sockets, no HTTP or JSON library, a regex that finds each chunk's ``sent_at`` stamp (set by
the reference container as it writes the chunk) in what one read returned.

N slots keep one stream each in flight: slot i starts at ``i * ramp_s / N`` and opens its
next stream (on the same keep-alive connection) as soon as the last one ends, until the end
of the window. Chunks stamped inside the window ``[ramp_s, ramp_s + window_s]`` are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final

STAMP: Final = re.compile(rb'"sent_at":\s*([0-9.]+)')
# The reference echoes the prompt's words ("w w w ..."), one per token, so a chunk's tokens are
# the words of its content: a coalesced chunk shows how many events it merged.
CONTENT: Final = re.compile(rb'"content":\s*"([^"]*)"')
# The reference writes the role chunk and the first token together, before the proxy has even
# returned the response headers: their delay is stream set-up (time to first chunk), reported
# apart, not pacing.
STARTUP_CHUNKS: Final = 2
READ_TIMEOUT_S: Final = 30.0
LAST_CHUNK: Final = b"0\r\n\r\n"  # the end of a chunked body


@dataclass
class Plan:
    host: str
    port: int
    key: str
    model: str
    streams: int
    tokens: int
    ramp_s: float
    window_s: float


@dataclass
class Tally:
    delays: list[float] = field(default_factory=list)  # seconds, steady chunks in the window
    startup: list[float] = field(default_factory=list)  # seconds, the first chunks of streams
    errors: list[str] = field(default_factory=list)
    tokens: int = 0  # in the measured chunks: tokens / len(delays) is the tokens per chunk
    streams: int = 0
    chunks: int = 0


def request_bytes(plan: Plan) -> bytes:
    body = json.dumps(
        {
            "model": plan.model,
            "messages": [{"role": "user", "content": " ".join(["w"] * (plan.tokens + 20))}],
            "max_tokens": plan.tokens,
            "stream": True,
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\n"
        f"Authorization: Bearer {plan.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def tally_events(
    events: bytes, now: float, window: tuple[float, float], tally: Tally, index: int
) -> int:
    """Record the delay (and tokens) of each stamped event one read returned; the new index."""
    for event in events.split(b"\n\n"):
        match = STAMP.search(event)
        if match is None:
            continue
        sent = float(match.group(1))
        if index < STARTUP_CHUNKS:
            tally.startup.append(now - sent)
        elif window[0] <= sent <= window[1]:
            tally.delays.append(now - sent)
            content = CONTENT.search(event)
            tally.tokens += len(content.group(1).split()) if content else 0
        index += 1
    return index


async def one_stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    window: tuple[float, float],
    tally: Tally,
) -> None:
    """Send one request, read its SSE answer to the end; raise on anything but a clean end."""
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
    status = head[9:12]
    if status != b"200":
        raise RuntimeError(f"HTTP {status.decode()}: {(await reader.read(300)).decode()!r}")
    buffer, index = b"", 0
    while True:
        data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
        now = time.time()
        if not data:
            raise RuntimeError("the proxy closed the stream before [DONE]")
        buffer += data
        end = buffer.rfind(b"\n\n")
        if end < 0:
            continue
        events, buffer = buffer[:end], buffer[end + 2 :]
        index = tally_events(events, now, window, tally, index)
        tally.chunks += events.count(b"data: {")
        if b'data: {"error"' in events:
            raise RuntimeError(f"error event: {events[events.find(b'error') :][:200]!r}")
        if b"data: [DONE]" in events:
            while not buffer.endswith(LAST_CHUNK):
                more = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
                if not more:
                    break
                buffer += more
            tally.streams += 1
            return


async def slot(number: int, plan: Plan, start: float, tally: Tally) -> None:
    await asyncio.sleep(max(0.0, start + number * plan.ramp_s / plan.streams - time.time()))
    window = (start + plan.ramp_s, start + plan.ramp_s + plan.window_s)
    request = request_bytes(plan)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.time() < window[1]:
        try:
            if connection is None:
                connection = await asyncio.open_connection(plan.host, plan.port)
            await one_stream(*connection, request, window, tally)
        except Exception as exc:  # every failure is counted, none stops the run
            tally.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            if connection is not None:
                connection[1].close()
            connection = None
            await asyncio.sleep(0.1)
    if connection is not None:
        connection[1].close()


async def run(plan: Plan) -> dict[str, Any]:
    tally = Tally()
    start = time.time() + 0.2
    cpu: list[float] = []
    loop = asyncio.get_running_loop()
    for at in (start + plan.ramp_s, start + plan.ramp_s + plan.window_s):
        loop.call_at(loop.time() + at - time.time(), lambda: cpu.append(time.process_time()))
    await asyncio.gather(*(slot(i, plan, start, tally) for i in range(plan.streams)))
    window = [start + plan.ramp_s, start + plan.ramp_s + plan.window_s]
    return {
        "window": window,
        "delays_ms": sorted(round(d * 1e3, 3) for d in tally.delays),
        "startup_ms": sorted(round(d * 1e3, 3) for d in tally.startup),
        "errors": tally.errors,
        "streams": tally.streams,
        "chunks": tally.chunks,
        "tokens": tally.tokens,
        "cpu_percent": 100 * (cpu[1] - cpu[0]) / plan.window_s if len(cpu) == 2 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._capacity_client")
    parser.add_argument("--plan", required=True, help="a JSON object with Plan's fields")
    plan = Plan(**json.loads(parser.parse_args().plan))
    try:
        import uvloop  # the cheapest loop there is: the client must not be the bottleneck

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    print(json.dumps(runner(run(plan))), flush=True)


if __name__ == "__main__":
    main()
