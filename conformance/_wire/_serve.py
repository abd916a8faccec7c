"""Serve an ASGI app with uvicorn on a real socket: in a background thread, or as a CLI process."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import uvicorn
from uvicorn.config import LOGGING_CONFIG

STARTUP_TIMEOUT_S: Final = 10.0
SHUTDOWN_TIMEOUT_S: Final = 5


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to (host, port); port 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only turns Nagle off (TCP_NODELAY) on sockets whose proto
    # says TCP, and with Nagle on every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot bind {host}:{port} ({exc.strerror}); pick another port"
        ) from exc
    return sock


@dataclass(frozen=True)
class TLSFiles:
    """A PEM certificate chain and its private key: the server then speaks HTTPS."""

    certfile: str
    keyfile: str


def socket_url(sock: socket.socket, tls: TLSFiles | None = None) -> str:
    """`http://HOST:PORT` (`https://` with TLS) for a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    scheme = "https" if tls is not None else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def make_server(
    app: Any,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    own_logging: bool = True,
    tls: TLSFiles | None = None,
) -> uvicorn.Server:
    """A uvicorn server for `app`; `own_logging=False` leaves the process's logging config alone.

    With `tls` it serves HTTPS (uvicorn loads the files when it starts, and fails then on a
    file it cannot read or a key that does not match the certificate).
    """
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        log_config=LOGGING_CONFIG if own_logging else None,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
        ssl_certfile=None if tls is None else tls.certfile,
        ssl_keyfile=None if tls is None else tls.keyfile,
    )
    return uvicorn.Server(config)


@contextmanager
def serve_app(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, tls: TLSFiles | None = None
) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread; yield its base URL, e.g. `http://127.0.0.1:5123`.

    With `tls` it serves HTTPS and the URL says `https://`. Startup is awaited (RuntimeError if
    it fails) and the server is stopped, and its thread joined, when the block exits. Streams
    really stream: every ASGI body message is flushed.
    """
    with serve_in_thread(app, host, port, stop_within=SHUTDOWN_TIMEOUT_S, tls=tls) as url:
        yield url


@contextmanager
def serve_in_thread(
    app: Any, host: str, port: int, *, stop_within: float, tls: TLSFiles | None = None
) -> Iterator[str]:
    """``serve_app``, stopping within ``2 * stop_within`` seconds: gracefully, then forced.

    The thread is a daemon: a server that is still stopping then does not hold the process.
    """
    sock = bind_socket(host, port)
    server = make_server(app, own_logging=False, tls=tls)
    url = socket_url(sock, tls)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"uvicorn:{url}",
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start serving on {url}")
            time.sleep(0.005)
        yield url
    finally:
        server.should_exit = True
        thread.join(stop_within)
        if thread.is_alive():
            server.force_exit = True
            thread.join(stop_within)
        sock.close()


def run_until_signalled(
    server: uvicorn.Server,
    sock: socket.socket,
    on_ready: Callable[[str], None],
    tls: TLSFiles | None = None,
) -> None:
    """Serve on `sock` in this (main) thread until SIGINT/SIGTERM; call `on_ready(url)` once up.

    uvicorn re-raises the signal it caught after shutting down; our own handlers, restored by
    then, swallow it, so Ctrl-C and SIGTERM end the process normally (exit status 0).
    """

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(_serve_and_announce(server, sock, lambda: on_ready(socket_url(sock, tls))))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve_and_announce(
    server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None]
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    if server.started:
        on_ready()
    await task
