"""A recording reverse proxy: relays every request to a container and keeps its raw answers.

Put it between the kit (or the emulator) and a running container. Each chunk is relayed as soon
as it arrives, so the container's timing reaches the kit nearly intact, and is recorded with
its arrival time for the replay server to reproduce.

Bounded as the kit is: an answer is relayed and kept up to a byte cap a little above the kit's
own (so the kit, which stops first, sees in a replay what it saw live), and the kit's
deadlines end an exchange: when the kit leaves, the recorder stops reading the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Final

import httpx

from .._wire._limits import KEPT_WHEN_CUT, MAX_RESPONSE_BYTES
from ._asgi import (
    Message,
    Receive,
    Send,
    StreamBroken,
    read_body,
    request_headers,
    request_path,
    send_unanswered,
    start_response,
    until_disconnect,
)
from ._format import Exchange, Request, Response

# Recomputed or set per hop by httpx on the way to the container.
_NOT_FORWARDED: Final = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}
)
CONNECT_TIMEOUT: Final = 5.0
# Past the kit's cap by one evidence head, so that the kit always cuts an answer first.
RECORDED_BYTES: Final = MAX_RESPONSE_BYTES + KEPT_WHEN_CUT


class Recorder:
    """An ASGI app that forwards to ``upstream`` and records each exchange.

    ``run`` labels the exchanges recorded from now on (e.g. ``direct`` or ``mock``). Exchanges
    are appended when they end; read them with :meth:`take` once the requests are done.
    """

    def __init__(self, upstream: str, *, cap: int = RECORDED_BYTES) -> None:
        self.upstream = upstream.rstrip("/")
        self.cap = cap
        self.run = ""
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None  # made in the serving loop, on first use

    def take(self) -> list[Exchange]:
        """The exchanges recorded so far, in the order their requests arrived."""
        with self._lock:
            return list(self._exchanges)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        loop = asyncio.get_running_loop()
        start = loop.time()
        headers = request_headers(scope)
        path = request_path(scope)
        exchange = Exchange(Request.of(scope["method"], path, dict(headers), body), Response())
        exchange.run = self.run
        with self._lock:
            self._exchanges.append(exchange)  # arrival order, even if answers end out of order
        relay = asyncio.create_task(
            self._relay(scope["method"], path, headers, body, send, exchange.response, start)
        )
        gone = asyncio.create_task(until_disconnect(receive))
        relay.add_done_callback(lambda _: gone.cancel())
        await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
        response = exchange.response
        if not relay.done():
            relay.cancel()
            response.ended, response.end = "client_gone", loop.time() - start
        with contextlib.suppress(asyncio.CancelledError):
            await gone
        try:
            await relay
        except asyncio.CancelledError:
            pass
        except OSError:  # the client went away while we were writing to it
            response.ended, response.end = "client_gone", loop.time() - start

    async def _relay(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        send: Send,
        response: Response,
        start: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        forward = [(k, v) for k, v in headers if k.lower() not in _NOT_FORWARDED]
        if self._client is None:
            timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT)  # the kit owns the deadlines
            # A fresh connection per request: a pooled one that the container closes while idle
            # would fail the next request with a ReadError the container never caused.
            fresh = httpx.Limits(max_keepalive_connections=0)
            self._client = httpx.AsyncClient(timeout=timeout, limits=fresh, trust_env=False)
        client = self._client
        request = client.build_request(method, self.upstream + path, content=body, headers=forward)
        # Send what the client sent: no User-Agent or Accept of httpx's own.
        sent = {k.lower() for k, _ in forward} | {"host", "content-length"}
        for name in [n for n in request.headers if n.lower() not in sent]:
            del request.headers[name]
        try:
            upstream = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            response.ended, response.error = "upstream_error", _describe(exc)
            response.head_at = response.end = loop.time() - start
            await send_unanswered(send, response.error)
            return
        try:
            response.status = upstream.status_code
            response.headers = [(k, v) for k, v in upstream.headers.multi_items()]
            response.head_at = loop.time() - start
            await start_response(send, response.status, response.headers)
            received = 0
            async for chunk in upstream.aiter_raw():
                received += len(chunk)
                if received > self.cap:
                    response.ended, response.end = "cut", loop.time() - start
                    response.error = f"the answer passed the recorder's {self.cap:,} bytes"
                    raise StreamBroken(response.error)
                response.chunks.append((loop.time() - start, chunk))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TransportError as exc:
            response.ended, response.error = "upstream_error", _describe(exc)
            response.end = loop.time() - start
            raise StreamBroken(response.error) from None  # drop the client too
        finally:
            await upstream.aclose()
        response.end = loop.time() - start
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
