"""An async body read ahead by a task of its own, for the coalescing window (see ``_window``).

Waiting for the next event with a timeout must not lose an event that was half read when the
timeout came: cancelling a read in the middle of an SSE event, or of a chunk frame, would. So
a task reads the body into a list of payloads, and the window waits on the list, not on the
read. The task stops by itself at the end of the stream, at ``[DONE]``, on an error, or when
:data:`READ_AHEAD_CHARS` are waiting; the consumer starts it again as it takes them, and
cancels it when it stops reading. So a dropped stream never leaves a task behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

from ._sse import SSEDecoder

# A consumer that stops reading (a stalled client behind a proxy) holds at most this much
# read-ahead text; past it the reader pauses, and TCP pushes back on the container as usual.
READ_AHEAD_CHARS: Final = 1024 * 1024


class ReadAhead:
    """Reads an async body into a list of payloads; :meth:`take` takes all of them."""

    __slots__ = (
        "_chars", "_decoder", "_ended", "_error", "_payloads", "_raw", "_since", "_task", "_wake",
    )  # fmt: skip

    def __init__(self, raw: AsyncIterator[bytes], decoder: SSEDecoder) -> None:
        self._raw = raw
        self._decoder = decoder
        self._payloads: list[str] = []
        self._since = 0.0  # when the oldest payload not yet taken arrived (monotonic)
        self._chars = 0
        self._error: Exception | None = None
        self._ended = False
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            while self._chars < READ_AHEAD_CHARS:
                try:
                    piece = await self._raw.__anext__()
                except StopAsyncIteration:
                    self._add(self._decoder.close())
                    self._ended = True
                    return
                self._add(self._decoder.feed(piece))
                if self._decoder.done:
                    self._ended = True
                    return
        except Exception as exc:  # raised to the consumer after the payloads before it
            self._error, self._ended = exc, True
        finally:
            self._task = None
            self._notify()

    def _add(self, payloads: list[str]) -> None:
        if payloads:
            if not self._payloads:
                self._since = time.monotonic()
            self._payloads += payloads
            self._chars += sum(map(len, payloads))
            self._notify()

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def wait(self, deadline: float | None = None) -> bool:
        """Wait for a payload or the end; False if the monotonic ``deadline`` came first."""
        while not self._payloads and not self._ended:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return False
            self._start()
            self._wake = asyncio.get_running_loop().create_future()
            try:
                done, _ = await asyncio.wait([self._wake], timeout=timeout)
            finally:
                self._wake = None
            if not done:
                return False
        return True

    def take(self) -> tuple[list[str], float]:
        """Every payload that has arrived, and when the first of them did; [] at the end.

        The reader's error is raised once the payloads before it have been taken.
        """
        if not self._payloads:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return [], time.monotonic()
        batch, since = self._payloads, self._since
        self._payloads, self._chars = [], 0
        if not self._ended:
            self._start()
        return batch, since

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._read())

    async def stop(self) -> None:
        """Cancel the reading task, if any, and wait until it has stopped."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
