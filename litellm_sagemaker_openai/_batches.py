"""SSE payloads grouped by what has already arrived, for coalescing (see ``_coalesce``).

A chunked HTTP response (what uvicorn, vLLM and the SageMaker route send) reaches the client
as one body piece per chunk frame even when many frames came in one network read: httpx
yields them one by one, so a batch of one read's pieces cannot be seen from the consumer.
Async streams therefore read ahead in a task of their own; each time the consumer asks, it
takes every payload that has arrived since, and waits only when there is none. Sync streams
have no spare thread to read ahead with: there a batch is the payloads of one body piece.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Final

from ._sse import SSEDecoder

# A consumer that stops reading (a stalled client behind a proxy) holds at most this much
# read-ahead text; past it the reader pauses, and TCP pushes back on the container as usual.
READ_AHEAD_CHARS: Final = 1024 * 1024


def iter_batches(chunks: Iterable[bytes], decoder: SSEDecoder) -> Iterator[list[str]]:
    """The payloads of each body piece, until ``[DONE]`` or the end of the stream."""
    for chunk in chunks:
        payloads = decoder.feed(chunk)
        if payloads:
            yield payloads
        if decoder.done:
            return
    payloads = decoder.close()
    if payloads:
        yield payloads


class ReadAhead:
    """Reads an async body into a list of payloads; :meth:`next_batch` takes all of them.

    The reading task stops by itself at the end of the stream, at ``[DONE]``, on an error, or
    when :data:`READ_AHEAD_CHARS` are waiting; the consumer starts it again as it takes them.
    So a dropped stream never leaves a task waiting forever.
    """

    __slots__ = ("_chars", "_decoder", "_ended", "_error", "_payloads", "_raw", "_task", "_wake")

    def __init__(self, raw: AsyncIterator[bytes], decoder: SSEDecoder) -> None:
        self._raw = raw
        self._decoder = decoder
        self._payloads: list[str] = []
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
            self._payloads += payloads
            self._chars += sum(map(len, payloads))
            self._notify()

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def next_batch(self) -> list[str]:
        """Every payload that has arrived; waits only while there is none. [] at the end."""
        while not self._payloads:
            if self._ended:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                return []
            self._start()
            self._wake = asyncio.get_running_loop().create_future()
            try:
                await self._wake
            finally:
                self._wake = None
        batch, self._payloads, self._chars = self._payloads, [], 0
        if not self._ended:
            self._start()
        return batch

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._read())

    async def stop(self) -> None:
        """Cancel the reading task, if any, and wait until it has stopped."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
