"""httpcore network backends: DNS off the loop's default executor, and stale connections spotted.

Both jobs sit at httpcore's network-backend seam, under every httpx client the plugin builds:

* **Name resolution on the plugin's own pool.** asyncio resolves names with
  ``loop.getaddrinfo``, on the loop's default executor. LiteLLM runs ``astreaming`` on that
  executor and the plugin's eager stream open waits there until response headers arrive, so a
  lookup queued behind those waiting workers could never run (6 concurrent streams on 2 cores
  deadlocked). Hostnames are resolved on :data:`RESOLVE_POOL` instead, concurrent lookups of one
  name share one call, and the connection is then made to the address, as anyio does for IPs.
* **Exchange accounting.** Each request sent inside :func:`exchange` records whether it went out
  on a reused keep-alive connection and how many response bytes came back. A reused connection
  that fails before any byte is a keep-alive the server had already dropped: the sender retries
  once, and :attr:`Exchange.fresh_only` makes httpcore discard idle connections to that origin,
  so the retry opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import httpcore
import httpx

from ._threads import RESOLVE_POOL

Origin = tuple[str, int]


@dataclass
class Exchange:
    """What happened on the wire for one request (see :func:`exchange`)."""

    reused: bool | None = None  # None until the request's first byte was written
    received: int = 0  # response bytes read while the request was being sent
    fresh_only: Origin | None = None  # idle connections to this origin count as expired
    on_sent: Callable[[], None] | None = None  # called once, when the request starts going out

    @property
    def stale(self) -> bool:
        """A reused keep-alive connection failed before any response byte: safe to resend."""
        return bool(self.reused) and self.received == 0


_EXCHANGE: ContextVar[Exchange | None] = ContextVar("sagemaker_openai_exchange", default=None)


@contextlib.contextmanager
def exchange(
    fresh_only: Origin | None = None, on_sent: Callable[[], None] | None = None
) -> Iterator[Exchange]:
    """Account the request sent inside the block (the contextvar follows the sending task)."""
    state = Exchange(fresh_only=fresh_only, on_sent=on_sent)
    token = _EXCHANGE.set(state)
    try:
        yield state
    finally:
        _EXCHANGE.reset(token)


def origin_of(url: httpx.URL) -> Origin:
    """The (host, port) a URL connects to, as the backends see it."""
    return url.host, url.port or (443 if url.scheme == "https" else 80)


class _Accounting:
    """Shared bookkeeping of the sync and async stream wrappers."""

    def __init__(self, origin: Origin) -> None:
        self._origin = origin
        self._used = False

    def _wrote(self) -> None:
        state = _EXCHANGE.get()
        if state is not None and state.reused is None:
            state.reused = self._used
            if state.on_sent is not None:
                state.on_sent()
        self._used = True

    @staticmethod
    def _read(data: bytes) -> bytes:
        state = _EXCHANGE.get()
        if state is not None:
            state.received += len(data)
        return data

    def _expired(self) -> bool:
        # httpcore asks an idle connection "is_readable" to find ones the server closed; saying
        # yes retires the connection, which is how a retry avoids every idle one to the origin.
        state = _EXCHANGE.get()
        return state is not None and state.fresh_only == self._origin


class _Stream(_Accounting, httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, origin: Origin) -> None:
        super().__init__(origin)
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._read(self._inner.read(max_bytes, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._wrote()
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._expired():
            return True
        return self._inner.get_extra_info(info)


class _AsyncStream(_Accounting, httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, origin: Origin) -> None:
        super().__init__(origin)
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._read(await self._inner.read(max_bytes, timeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._wrote()
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        self._inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._expired():
            return True
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """Sync: the calling thread may block on DNS, so only the accounting is added."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, (host, port))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), (path, 0))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    """Async: hostnames are resolved on the plugin's pool, then connected to by address."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = [host] if _is_ip(host) else await resolve(host, port, timeout)
        error: Exception | None = None
        for address in addresses:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                stream = await self._inner.connect_tcp(
                    address, port, left, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # refused or unreachable: try the next address
                error = exc
                continue
            return _AsyncStream(stream, (host, port))
        raise error or httpcore.ConnectError(f"{host} resolved to no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _AsyncStream(stream, (path, 0))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_inflight: dict[Origin, Future[list[str]]] = {}
_inflight_lock: Final = threading.Lock()


def _lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The resolver's order (RFC 6724) is kept, duplicates dropped.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve(host: str, port: int, timeout: float | None = None) -> list[str]:
    """The addresses of ``host`` in resolver order, looked up on :data:`RESOLVE_POOL`.

    Concurrent callers for one name share one lookup; nothing is cached after it completes,
    so the system resolver's own caching and TTLs still apply.
    """
    key = (host, port)
    with _inflight_lock:
        future = _inflight.get(key)
        first = future is None
        if future is None:
            future = RESOLVE_POOL.get().submit(_lookup, host, port)
            _inflight[key] = future
    if first:  # outside the lock: a lookup that is already done runs the callback right here
        future.add_done_callback(lambda done: _forget(key, done))
    # shield: one caller giving up must not cancel the lookup the others are waiting for.
    waiter = asyncio.shield(asyncio.wrap_future(future))
    try:
        return await asyncio.wait_for(waiter, timeout)
    except asyncio.TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} s") from None
    except (OSError, UnicodeError) as exc:  # gaierror, or a name IDNA cannot encode
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None


def _forget(key: Origin, done: Future[list[str]]) -> None:
    with _inflight_lock:
        if _inflight.get(key) is done:
            del _inflight[key]


def install(client: httpx.Client | httpx.AsyncClient) -> None:
    """Put the wrapping backends under every connection pool of ``client`` (proxies included)."""
    wrap: Any = _AsyncBackend if isinstance(client, httpx.AsyncClient) else _Backend
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:  # a NO_PROXY entry
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError(
                "this httpx/httpcore release no longer keeps its connection pool in "
                "transport._pool._network_backend; litellm-sagemaker-openai needs an update"
            )
        if not isinstance(backend, _Backend | _AsyncBackend):
            pool._network_backend = wrap(backend)  # type: ignore[union-attr]
