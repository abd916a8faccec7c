"""What ``streaming`` and ``astreaming`` return: iterators that own their response until closed.

A generator would not do: one that is never iterated never runs its ``finally``, so a stream
opened and dropped would hold its pooled connection for good.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

from ._errors import request_id
from ._request import Call
from ._stream import Chunk, aiter_chunks, iter_chunks
from ._threads import CLOSE_POOL


class ChunkStream:
    """What ``streaming`` returns: the chunks of an open response, which it owns until closed.

    A generator would not do: one that is never iterated never runs its ``finally``, so a
    stream opened and dropped would hold its pooled connection for good.
    """

    __slots__ = ("__weakref__", "_call", "_chunks", "_response")

    def __init__(self, call: Call, response: httpx.Response) -> None:
        self._call = call
        self._response = response
        self._chunks: Generator[Chunk, None, None] | None = None

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> Chunk:
        if self._chunks is None:
            self._chunks = iter_chunks(self._response, self._call)
        return next(self._chunks)

    @property
    def request_id(self) -> str | None:
        """SageMaker's ``x-amzn-RequestId`` for this stream."""
        return request_id(self._response)

    def close(self) -> None:
        """Stop reading and give the connection back (closed, as the answer is unfinished)."""
        if self._chunks is not None:
            self._chunks.close()
        self._response.close()

    def __del__(self) -> None:
        # Closing takes httpcore's pool lock, which this thread may hold right now (a collection
        # can run anywhere), so the close is handed to a thread of its own.
        if not self._response.is_closed:
            with contextlib.suppress(RuntimeError):  # the interpreter is shutting down
                CLOSE_POOL.get().submit(self._response.close)


class AsyncChunkStream:
    """What ``astreaming`` returns: like :class:`ChunkStream`, for a response opened on ``loop``.

    The response is either open already, or ``pending`` (an open under way on ``loop``, see
    ``_open.py``), or opened on first read through ``opener`` (the lazy path). Dropped unclosed,
    it closes its response, or cancels its open, on the loop that owns the connection.
    """

    __slots__ = (
        "__weakref__",
        "_call",
        "_chunks",
        "_loop",
        "_opener",
        "_pending",
        "_response",
    )

    def __init__(
        self,
        call: Call,
        response: httpx.Response | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        opener: Callable[[Call], Awaitable[httpx.Response]] | None = None,
        pending: concurrent.futures.Future[httpx.Response] | None = None,
    ) -> None:
        self._call = call
        self._response = response
        self._loop = loop
        self._opener = opener
        self._pending = pending
        self._chunks: AsyncGenerator[Chunk, None] | None = None

    def __aiter__(self) -> AsyncChunkStream:
        return self

    async def __anext__(self) -> Chunk:
        if self._chunks is None:
            if self._response is None:
                self._response = await self._open()
            self._chunks = aiter_chunks(self._response, self._call)
        return await self._chunks.__anext__()

    async def _open(self) -> httpx.Response:
        if self._pending is not None:
            # Cancelling this wait (the reader gave up) cancels the open itself.
            return await asyncio.wrap_future(self._pending)
        if self._opener is None:
            raise StopAsyncIteration
        self._loop = asyncio.get_running_loop()
        return await self._opener(self._call)

    @property
    def request_id(self) -> str | None:
        """SageMaker's ``x-amzn-RequestId`` for this stream, once its headers are in."""
        response, pending = self._response, self._pending
        opened = pending is not None and pending.done() and not pending.cancelled()
        if response is None and opened and pending is not None and pending.exception() is None:
            response = pending.result()
        return request_id(response)

    async def aclose(self) -> None:
        """Stop reading and give the connection back (closed, as the answer is unfinished)."""
        if self._chunks is not None:
            await self._chunks.aclose()
        response = self._response or _abandon(self._pending)
        if response is not None:
            await response.aclose()

    def __del__(self) -> None:
        response, loop = self._response or _abandon(self._pending), self._loop
        if response is not None and loop is not None and not response.is_closed:
            with contextlib.suppress(RuntimeError):  # a closed loop took its sockets with it
                loop.call_soon_threadsafe(_close_on_loop, loop, response)


def _abandon(pending: concurrent.futures.Future[httpx.Response] | None) -> httpx.Response | None:
    """Cancel an open nobody will read; the response, if it had already arrived."""
    if pending is None:
        return None
    with contextlib.suppress(RuntimeError):  # cancelling schedules on a loop that may be closed
        pending.cancel()
    if pending.done() and not pending.cancelled() and pending.exception() is None:
        return pending.result()
    return None


_closing: set[asyncio.Task[None]] = set()  # strong references until each close has run


def _close_on_loop(loop: asyncio.AbstractEventLoop, response: httpx.Response) -> None:
    task = loop.create_task(response.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


# LiteLLM's stream wrappers (and the Router's around them) hide the plugin's iterator inside a
# generator; the call's logging object is what every layer shares.
_STREAM_ATTR = "_sagemaker_openai_stream"


def remember_stream(logging_obj: object, stream: ChunkStream | AsyncChunkStream) -> None:
    """Note the stream on its call's logging object, for :func:`stream_request_id`."""
    with contextlib.suppress(AttributeError, TypeError):
        setattr(logging_obj, _STREAM_ATTR, weakref.ref(stream))


def stream_request_id(response: object) -> str | None:
    """SageMaker's request id of the plugin's stream under LiteLLM's ``response``, if known."""
    ref = getattr(getattr(response, "logging_obj", None), _STREAM_ATTR, None)
    stream = ref() if isinstance(ref, weakref.ref) else None
    return stream.request_id if isinstance(stream, ChunkStream | AsyncChunkStream) else None
