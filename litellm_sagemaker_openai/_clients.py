"""Pooled httpx clients: one sync client per network, one async client per event loop and network.

A :class:`~._network.Network` is a call's CA bundle and proxy settings: a client is made for
one, so deployments that trust different CAs, or a process whose ``HTTPS_PROXY`` changed, never
share a pool (the certificate a pooled connection was verified with stays with it). httpx reads
the proxy variables when it makes a client: a call makes its client right after resolving its
network, under the same environment.

Both run on the backends of ``_transport.py`` (DNS off the loop's default executor, stale
keep-alive detection).

An ``httpx.AsyncClient`` is bound to the loop that first used it, so sharing one across
loops (threads running ``asyncio.run``, test loops, proxy workers) breaks: each loop gets its
own. A client must also go with its loop, sockets closed: scripts, Celery tasks and Django views
run ``asyncio.run(one call)`` over and over, and each loop's client kept alive (a weak map does
not do it: the client's sockets refer to the loop, so the value keeps its key) leaks a loop and
a socket per call, until the process runs out of file descriptors. So each client is closed by
the loop's own shutdown (``asyncio.run`` closes every async generator before it closes the
loop), and a loop closed without that is dropped the next time a client is made. After
``fork`` the child must not reuse the parent's sockets, so every pool is dropped in the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncGenerator
from typing import Final

import httpx

from ._network import Network, resolve_network
from ._transport import install

# Streams hold a connection for their whole life, so 200 concurrent streams must not queue. Few
# idle connections are kept: httpcore's pool bookkeeping walks idle x all connections on every
# request and release (encode/httpcore#1035), which with 200 idle ones cost ~20 ms of event-loop
# CPU per stream; past 32, a burst pays a fresh handshake instead.
LIMITS: Final = httpx.Limits(max_connections=1000, max_keepalive_connections=32)

_lock = threading.Lock()
_sync: dict[Network, httpx.Client] = {}
_Key = tuple[asyncio.AbstractEventLoop, Network]
# (loop, network) -> (its client, the async generator whose closing closes the client)
_async: dict[_Key, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]] = {}


def _default() -> Network:
    return resolve_network(None, True, None)


def sync_client(network: Network | None = None) -> httpx.Client:
    """The process's shared sync client for ``network`` (the environment's by default)."""
    network = network or _default()
    client = _sync.get(network)
    if client is None:
        with _lock:
            client = _sync.get(network)
            if client is None:
                client = httpx.Client(**network.client_options(LIMITS, asynchronous=False))
                install(client)
                _sync[network] = client
    return client


def async_client(network: Network | None = None) -> httpx.AsyncClient:
    """The running loop's shared async client for ``network`` (call from a coroutine on it)."""
    loop = asyncio.get_running_loop()
    key = (loop, network or _default())
    entry = _async.get(key)
    if entry is None:
        _forget_closed_loops()
        client = httpx.AsyncClient(**key[1].client_options(LIMITS, asynchronous=True))
        install(client)
        entry = _async[key] = (client, _closer(key, client))
    return entry[0]


def existing_async_client(loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient | None:
    """A client ``loop`` has, if it made one (for tests and diagnostics)."""
    return next((client for (owner, _), (client, _) in _async.items() if owner is loop), None)


async def _closes_with_loop(key: _Key, client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:  # the loop's shutdown_asyncgens() closed this generator: close the client with it
        if _async.get(key, (None,))[0] is client:
            del _async[key]
        await client.aclose()


def _closer(key: _Key, client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Start an async generator that the loop's shutdown will close, and the client with it.

    Its first step runs right here (it awaits nothing before its ``yield``), which registers it
    with the running loop through the asyncgen hooks that asyncio and uvloop install. The loop
    only keeps a weak reference to it: :data:`_async` keeps it alive.
    """
    closer = _closes_with_loop(key, client)
    with contextlib.suppress(StopIteration):
        closer.asend(None).send(None)
    return closer


def _forget_closed_loops() -> None:
    # A loop closed without shutting its async generators down (``loop.close()`` by hand): its
    # sockets can no longer be closed through it. Dropped here, they close when collected.
    for key in [key for key in _async if key[0].is_closed()]:
        del _async[key]


def reset_clients() -> None:
    """Forget every pool (after fork, or in tests); sockets are not closed from here."""
    _sync.clear()
    _async.clear()


os.register_at_fork(after_in_child=reset_clients)
