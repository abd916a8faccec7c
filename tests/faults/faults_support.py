"""Fault-injection helpers: a scriptable raw HTTP/1.1 server on loopback, and pool checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from litellm_sagemaker_openai import _clients

_HANG_S: Final = 30.0  # a "hanging" server gives up after this, long after every client timeout
_SHUTDOWN_S: Final = 5.0


def chunk(delta: dict[str, Any], finish: str | None = None, cid: str = "chatcmpl-fault") -> str:
    """One OpenAI chat.completion.chunk as JSON."""
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return json.dumps(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [choice],
        }
    )


def completion(text: str = "whole answer") -> dict[str, Any]:
    """One OpenAI chat.completion object."""
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def event(payload: str) -> bytes:
    """An SSE ``data`` event."""
    return f"data: {payload}\n\n".encode()


# What a healthy stream starts with: the role chunk and some content, i.e. a partial answer.
PARTIAL: Final = event(chunk({"role": "assistant", "content": ""})) + event(
    chunk({"content": "partial "})
)
WHOLE_STREAM: Final = (
    PARTIAL + event(chunk({"content": "answer"})) + event(chunk({}, "stop")) + event("[DONE]")
)


@dataclass
class Hit:
    """One request the loopback server received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    index: int  # 0 for the server's first request, 1 for the second, ...
    connection: int  # which TCP connection it came on (0, 1, ... in accept order)

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.body) if self.body else {}
        return data if isinstance(data, dict) else {}

    @property
    def stream(self) -> bool:
        return bool(self.json.get("stream"))

    @property
    def token(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")


class Conn:
    """The server side of one HTTP exchange: write a response, or misbehave."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.keep_alive = True  # set False (or cut) to stop serving this connection
        self._chunked = False

    async def head(
        self,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        length: int | None = None,
        chunked: bool = False,
    ) -> None:
        """Status line and headers. Without a length or chunking the body ends at close."""
        lines = [f"HTTP/1.1 {status} X"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if length is not None:
            lines.append(f"content-length: {length}")
        elif chunked:
            lines.append("transfer-encoding: chunked")
        else:
            self.keep_alive = False
        self._chunked = chunked and length is None
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode(), raw=True)

    async def write(self, data: bytes, *, raw: bool = False) -> None:
        if self._chunked and not raw and data:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.writer.write(data)
        await self.writer.drain()

    async def end(self) -> None:
        """Finish a chunked body (no-op otherwise)."""
        if self._chunked:
            await self.write(b"0\r\n\r\n", raw=True)

    async def respond(
        self, status: int, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """A complete response with a Content-Length."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        await self.head(
            status, {"content-type": "application/json", **(headers or {})}, length=len(data)
        )
        await self.write(data)

    async def sse(self, data: bytes, *, chunked: bool = True) -> None:
        """A complete SSE response."""
        await self.head(200, {"content-type": "text/event-stream"}, chunked=chunked)
        await self.write(data)
        await self.end()

    def cut(self) -> None:
        """Close the socket (FIN) wherever the response is."""
        self.keep_alive = False
        self.writer.close()

    def reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.keep_alive = False
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def hang(self) -> None:
        """Say nothing more (until the client gives up, or the server stops)."""
        self.keep_alive = False
        await asyncio.sleep(_HANG_S)


Handler = Callable[[Hit, Conn], Awaitable[None]]


class LoopbackServer:
    """A raw asyncio HTTP/1.1 server on 127.0.0.1 in its own thread, for faults uvicorn won't do.

    ``handler(hit, conn)`` answers each request; ``hits`` records them all (keep-alive aware).
    Leaving the ``with`` block cancels every connection task and joins the thread.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.hits: list[Hit] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepted = 0

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        start = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.url = start.result(_SHUTDOWN_S)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(_SHUTDOWN_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_SHUTDOWN_S)
            if not self._thread.is_alive():
                self._loop.close()

    async def _start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn, number = Conn(reader, writer), self._accepted
        self._accepted += 1
        try:
            while conn.keep_alive:
                hit = await self._read(reader, number)
                if hit is None:
                    break
                await self.handler(hit, conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: that is what several faults are about
        except asyncio.CancelledError:
            pass  # the server is stopping; end quietly (asyncio would log a cancelled handler)
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _read(self, reader: asyncio.StreamReader, connection: int) -> Hit | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        hit = Hit(method, path, headers, body, len(self.hits), connection)
        self.hits.append(hit)
        return hit


@contextlib.contextmanager
def loopback(handler: Handler) -> Iterator[LoopbackServer]:
    """``with loopback(handler) as server:`` — see :class:`LoopbackServer`."""
    with LoopbackServer(handler) as server:
        yield server


def unused_port() -> int:
    """A loopback port with nothing listening (bound, then closed: refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- connection pools -----------------------------------------------------------------------


def pool_problems(pool: Any) -> list[str]:
    """What in an httpcore pool is still in use: queued or in-flight requests, and connections
    that are neither idle (a reusable keep-alive) nor closed, e.g. ACTIVE with an unread body
    or CONNECTING."""
    problems = (
        [f"{len(pool._requests)} request(s) still assigned in the pool"] if pool._requests else []
    )
    for conn in pool.connections:
        if not (conn.is_idle() or conn.is_closed()):
            problems.append(f"connection not released: {conn.info()}")
    return problems


def sync_pool_problems() -> list[str]:
    """Problems in the plugin's process-wide sync pools (none if none was created)."""
    pools = [client._transport._pool for client in _clients._sync.values()]  # type: ignore[attr-defined]
    return [problem for pool in pools for problem in pool_problems(pool)]


def async_pool_problems() -> list[str]:
    """Problems in the plugin's async pool for the running loop (call on that loop)."""
    client = _clients.existing_async_client(asyncio.get_running_loop())
    return [] if client is None else pool_problems(client._transport._pool)  # type: ignore[attr-defined]


def sync_pool_size() -> int:
    """How many connections the sync pools hold (to show a check is not vacuous)."""
    pools = [client._transport._pool for client in _clients._sync.values()]  # type: ignore[attr-defined]
    return sum(len(pool.connections) for pool in pools)


def async_pool_size() -> int:
    """How many connections the running loop's pool holds."""
    client = _clients.existing_async_client(asyncio.get_running_loop())
    return 0 if client is None else len(client._transport._pool.connections)  # type: ignore[attr-defined]
