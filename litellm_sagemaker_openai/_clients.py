"""Pooled httpx clients: one sync client per process, one async client per event loop.

Both run on the backends of ``_transport.py`` (DNS off the loop's default executor, stale
keep-alive detection).

An ``httpx.AsyncClient`` is bound to the loop that first used it, so sharing one across
loops (threads running ``asyncio.run``, test loops, proxy workers) breaks; a weak map keyed
by loop gives each its own and lets it go with its loop. After ``fork`` the child must not
reuse the parent's sockets, so every pool is dropped in the child.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from typing import Final

import httpx

from ._transport import install

# Streams hold a connection for their whole life, so 200 concurrent streams must not queue. Few
# idle connections are kept: httpcore's pool bookkeeping walks idle x all connections on every
# request and release (encode/httpcore#1035), which with 200 idle ones cost ~20 ms of event-loop
# CPU per stream; past 32, a burst pays a fresh handshake instead.
LIMITS: Final = httpx.Limits(max_connections=1000, max_keepalive_connections=32)

_lock = threading.Lock()
_sync: httpx.Client | None = None
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def sync_client() -> httpx.Client:
    """The process's shared sync client."""
    global _sync
    client = _sync
    if client is None:
        with _lock:
            if _sync is None:
                _sync = httpx.Client(limits=LIMITS, follow_redirects=False)
                install(_sync)
            client = _sync
    return client


def async_client() -> httpx.AsyncClient:
    """The running loop's shared async client (call from a coroutine on that loop)."""
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None:
        client = httpx.AsyncClient(limits=LIMITS, follow_redirects=False)
        install(client)
        _async[loop] = client
    return client


def reset_clients() -> None:
    """Forget every pool (after fork, or in tests); sockets are not closed from here."""
    global _sync
    _sync = None
    _async.clear()


os.register_at_fork(after_in_child=reset_clients)
