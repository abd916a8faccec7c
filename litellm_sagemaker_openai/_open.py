"""Open an async stream on the caller's loop, and wait for it in LiteLLM's executor only briefly.

LiteLLM calls ``astreaming`` in a worker of the loop's default executor (``min(32, cores + 4)``
workers: 6 on 2 cores) and wraps what it returns at once. Waiting there for the response headers
would hold a worker for the whole open. With headers that take seconds (a long prefill, a queue
in the container, a scale-out), opens per second would be capped by that pool, not by the
network: 50 streams whose headers took 2 s needed 18 s, against 2.6 s for LiteLLM's ``openai/``.

So the open runs as a task on the caller's loop, and the worker waits only while errors usually
arrive: until the request starts going out (a refused connection, a DNS or TLS failure and a
credential problem all come before that), then :data:`SENT_WAIT_S` more for the route's quick
refusals (throttling, validation, authentication), never more than :data:`WAIT_MAX_S` in all, and
only while fewer than :data:`HOLDERS` workers are waiting that way. Such errors raise from
``acompletion`` itself, where every supported LiteLLM's Router retries and falls back. Past that,
the stream is handed over with its open under way: its first read awaits the open, and a later
error raises from there. LiteLLM 1.108 and later read a stream's first chunk inside the Router's
retry loop, so they retry and fall back on it too; 1.106 falls back only (see
docs/provider/streaming.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from typing import Any, Final

import httpx

from ._caller import Caller
from ._errors import setup_error
from ._exceptions import ConfigurationError, CredentialsError
from ._request import Call
from ._send import open_async

# A region away, the route's own refusals come one round trip (~70-200 ms) after the request.
SENT_WAIT_S: Final = 0.2
# Whatever happens, a worker is given back within this (a slow token mint, a slow connect).
WAIT_MAX_S: Final = 1.0
# Workers that may wait at once: a third of asyncio's default executor, which LiteLLM also needs
# for every call's own work. Past that, streams are handed over at once.
HOLDERS: Final = threading.BoundedSemaphore(max(1, min(32, (os.cpu_count() or 1) + 4) // 3))


async def open_translated(call: Call, on_sent: Any = None) -> httpx.Response:
    """:func:`open_async`, with send-time setup problems raised as LiteLLM's typed errors."""
    try:
        return await open_async(call, on_sent)
    except (CredentialsError, ConfigurationError) as exc:
        raise setup_error(exc, model=call.model) from None


class PendingOpen:
    """One stream's open, running on the caller's loop, watched from LiteLLM's executor thread."""

    __slots__ = ("_progress", "_sent", "future", "handed_over")

    def __init__(self, caller: Caller, call: Call) -> None:
        self._progress = threading.Event()  # set when the request goes out, or the open ends
        self._sent = False
        # Until the stream is handed over, the open belongs to the caller's task: a caller that
        # gives up (asyncio.wait_for, a client disconnect) takes it along. After, to the stream.
        self.handed_over = False
        coroutine = self._open(caller.task, call)
        self.future: concurrent.futures.Future[httpx.Response] = asyncio.run_coroutine_threadsafe(
            coroutine, caller.loop
        )
        progress = self._progress  # not self: the future would then hold a reference cycle
        self.future.add_done_callback(lambda _: progress.set())

    def _on_sent(self) -> None:
        self._sent = True
        self._progress.set()

    def wait_briefly(self) -> bool:
        """Wait in this thread while errors usually arrive; whether the open has ended."""
        if not HOLDERS.acquire(blocking=False):
            self.handed_over = not self.future.done()
            return not self.handed_over
        try:
            deadline = time.monotonic() + WAIT_MAX_S
            self._progress.wait(WAIT_MAX_S)
            left = min(SENT_WAIT_S, deadline - time.monotonic())
            if self._sent and left > 0:
                concurrent.futures.wait([self.future], left)
        finally:
            HOLDERS.release()
        self.handed_over = not self.future.done()
        return not self.handed_over

    async def _open(self, caller: asyncio.Task[Any] | None, call: Call) -> httpx.Response:
        """Open on the caller's loop; give up, closing what was opened, if the caller leaves first.

        The caller's task waits on LiteLLM's executor thread, which waits on this: when the caller
        is cancelled, nobody would ever read or close the response, so its connection would stay
        taken for good.
        """
        if caller is None:
            return await open_translated(call, self._on_sent)
        if caller.done():
            raise asyncio.CancelledError
        this = asyncio.current_task()

        def abandon(_: object) -> None:
            if this is not None and not self.handed_over:
                this.cancel()

        caller.add_done_callback(abandon)
        try:
            response = await open_translated(call, self._on_sent)
        finally:
            caller.remove_done_callback(abandon)
        if caller.done() and not self.handed_over:  # cancelled just as the headers arrived
            await response.aclose()
            raise asyncio.CancelledError
        return response
