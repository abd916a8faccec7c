"""One burst of concurrent async streams, with an event-loop lag ticker and a thread/RSS sampler."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from bench._servers import Server, litellm_ready

# Opens one stream for (messages, max_tokens) and returns what to iterate.
Opener = Callable[[list[dict[str, Any]], int], Awaitable[AsyncIterable[Any]]]

TICK_S: Final = 0.005
SAMPLE_S: Final = 0.02
BURST_TIMEOUT_S: Final = 120.0


def proc_status(field_name: str) -> int:
    """A number from /proc/self/status (``Threads``, or ``VmRSS`` in kB); -1 off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def thread_pools() -> dict[str, int]:
    """Python threads by name with the worker number dropped (``litellm-logging_3`` -> pool)."""
    return dict(Counter(re.sub(r"[_-]?\d+$", "", t.name) for t in threading.enumerate()))


@dataclass
class Batch:
    """What one burst of concurrent streams did to this process."""

    seconds: float = 0.0
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    chunks: int = 0
    lags_ms: list[float] = field(default_factory=list)
    threads_before: int = 0
    threads_max: int = 0
    py_threads_before: int = 0
    py_threads_max: int = 0
    rss_before_kb: int = 0
    rss_max_kb: int = 0
    rss_after_kb: int = 0
    gc_pauses_ms: list[float] = field(default_factory=list)  # full (generation 2) collections
    pools_before: dict[str, int] = field(default_factory=dict)
    pools_max: dict[str, int] = field(default_factory=dict)


def litellm_opener(model: str, kwargs: dict[str, Any]) -> Opener:
    """``litellm.acompletion(model, stream=True, **kwargs)``."""
    litellm = litellm_ready()

    async def open_stream(messages: list[dict[str, Any]], tokens: int) -> AsyncIterable[Any]:
        return await litellm.acompletion(  # type: ignore[no-any-return]
            model=model, messages=messages, stream=True, max_tokens=tokens, **kwargs
        )

    return open_stream


def raw_opener(server: Server) -> Opener:
    """httpx.AsyncClient + SSE lines + json.loads: the I/O floor, no LiteLLM (one per loop)."""
    import json

    import httpx

    token = server.static_token()
    clients: dict[int, httpx.AsyncClient] = {}

    async def open_stream(messages: list[dict[str, Any]], tokens: int) -> AsyncIterable[Any]:
        loop = id(asyncio.get_running_loop())
        client = clients.get(loop)
        if client is None:  # one per loop: building a client (SSL context) costs ~30 ms
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
            client = clients[loop] = httpx.AsyncClient(timeout=60, limits=limits)
        body = {
            "model": "",
            "messages": messages,
            "max_tokens": tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        request = client.build_request(
            "POST",
            f"{server.route}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        response = await client.send(request, stream=True)

        async def events() -> AsyncIterator[Any]:
            try:
                async for line in response.aiter_lines():
                    if line.startswith("data: {"):
                        yield json.loads(line[6:])
            finally:
                await response.aclose()

        return events()

    return open_stream


async def burst(
    open_stream: Opener,
    streams: int,
    tokens: int,
    *,
    stagger_s: float = 0.0,
    timeout: float = BURST_TIMEOUT_S,
) -> Batch:
    """Open ``streams`` streams (stream i after ``i * stagger_s``) and read them all.

    Meanwhile a ticker measures how late ``asyncio.sleep(0.005)`` wakes up (loop lag), and
    a sampler reads the OS thread count, Python's thread count and RSS every 20 ms.
    """
    messages = [{"role": "user", "content": " ".join(["w"] * (tokens + 10))}]
    batch = Batch(
        threads_before=proc_status("Threads"),
        py_threads_before=threading.active_count(),
        rss_before_kb=proc_status("VmRSS"),
        pools_before=thread_pools(),
    )
    batch.pools_max = dict(batch.pools_before)
    batch.threads_max, batch.py_threads_max = batch.threads_before, batch.py_threads_before
    batch.rss_max_kb = batch.rss_before_kb
    done = asyncio.Event()

    async def one(number: int) -> int:
        if stagger_s:
            await asyncio.sleep(number * stagger_s)
        stream = await open_stream(messages, tokens)
        count = 0
        async for _ in stream:
            count += 1
        return count

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK_S)
            batch.lags_ms.append((time.perf_counter() - start - TICK_S) * 1e3)

    async def sampler() -> None:
        while not done.is_set():
            batch.threads_max = max(batch.threads_max, proc_status("Threads"))
            batch.py_threads_max = max(batch.py_threads_max, threading.active_count())
            batch.rss_max_kb = max(batch.rss_max_kb, proc_status("VmRSS"))
            for name, count in thread_pools().items():
                batch.pools_max[name] = max(batch.pools_max.get(name, 0), count)
            await asyncio.sleep(SAMPLE_S)

    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        # A full collection of LiteLLM's large heap stops the whole process, loop included.
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            batch.gc_pauses_ms.append((time.perf_counter() - gc_started[0]) * 1e3)

    watchers = [asyncio.create_task(ticker()), asyncio.create_task(sampler())]
    gc.callbacks.append(on_gc)
    start = time.perf_counter()
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True), timeout
        )
    finally:
        gc.callbacks.remove(on_gc)
        done.set()
        await asyncio.gather(*watchers)
    batch.seconds = time.perf_counter() - start
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            batch.errors.append(f"{type(outcome).__name__}: {str(outcome)[:200]}")
        else:
            batch.completed += 1
            batch.chunks += outcome
    batch.rss_after_kb = proc_status("VmRSS")
    return batch
