"""httpx clients the kit lends to real client libraries, bounded like its own requests.

A check that runs a real client (the AWS sample loop with the openai SDK) reads the target's
bytes through that client, not through ``perform``. The clients made here keep those bytes
under the same bounds: the byte cap on every answer, and the deadline, which the sync
transport enforces on every socket operation (``with deadline(until):`` around the calls)
and ``within()`` enforces on a coroutine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Final, TypeVar

import httpx

from ._client import proxy_for
from ._deadline import DeadlineTransport

T = TypeVar("T")
CUT_MESSAGE: Final = "the answer passed {cap:,} bytes; the kit stops reading there"


class AnswerCut(httpx.ReadError):
    """An answer passed the byte cap; the client reading it gets this as a read error."""


def _too_large(cap: int) -> AnswerCut:
    return AnswerCut(CUT_MESSAGE.format(cap=cap))


class _Capped(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, cap: int) -> None:
        self._inner, self._cap = inner, cap

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._cap:
                raise _too_large(self._cap)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _AsyncCapped(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, cap: int) -> None:
        self._inner, self._cap = inner, cap

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._inner:
            received += len(chunk)
            if received > self._cap:
                raise _too_large(self._cap)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, cap: int) -> None:
        self._inner, self._cap = inner, cap

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Capped(response.stream, self._cap)
        return response

    def close(self) -> None:
        self._inner.close()


class _AsyncCappedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, cap: int) -> None:
        self._inner, self._cap = inner, cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _AsyncCapped(response.stream, self._cap)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def lent_client(base_url: str, cap: int) -> httpx.Client:
    """A sync client for a client library: the deadline transport, and ``cap`` per answer.

    Behind an HTTP proxy, httpx's own transport through it: only per-read timeouts and the
    cap bound an answer there, as for the kit's own requests.
    """
    proxy = proxy_for(base_url)
    inner = DeadlineTransport() if proxy is None else httpx.HTTPTransport(proxy=proxy)
    return httpx.Client(transport=_CappedTransport(inner, cap), trust_env=False)


def lent_async_client(base_url: str, cap: int) -> httpx.AsyncClient:
    """An async client for a client library: ``cap`` per answer (``within()`` bounds time)."""
    inner = httpx.AsyncHTTPTransport(proxy=proxy_for(base_url))
    return httpx.AsyncClient(transport=_AsyncCappedTransport(inner, cap), trust_env=False)


async def within(until: float, work: Awaitable[T]) -> T:
    """``await work``, cancelled when the time.monotonic() deadline ``until`` passes.

    Raises:
        TimeoutError: the deadline passed first.
    """
    left = max(until - time.monotonic(), 0.0)
    try:
        return await asyncio.wait_for(work, left)
    except asyncio.TimeoutError:
        raise TimeoutError(f"the answer did not finish within {left:.3g} s") from None
