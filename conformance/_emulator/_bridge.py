"""An httpx transport that calls an ASGI app in-process and streams its response as it is sent.

``httpx.ASGITransport`` collects the whole body before returning, which would turn a paced
SSE stream into one burst. This bridge hands each ``http.response.body`` message to the
reader as soon as the app sends it, so the reference container can sit behind the emulator
in the same process and event loop with its timing intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Final

import httpx

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

logger = logging.getLogger("conformance.emulator")

# A small queue gives the app back-pressure: it cannot run far ahead of the reader.
_QUEUE_SIZE: Final = 16
_END: Final = object()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Send httpx requests to an ASGI app without buffering the response."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        queue: asyncio.Queue[object] = asyncio.Queue(_QUEUE_SIZE)
        closed = asyncio.Event()
        body_sent = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if closed.is_set():
                raise OSError("the reader closed the response")
            await queue.put(message)

        async def run() -> None:
            try:
                await self._app(_scope(request), receive, send)
            except Exception as exc:
                await queue.put(exc)
            finally:
                await queue.put(_END)

        task = asyncio.create_task(run())
        first = await queue.get()
        if not isinstance(first, MutableMapping) or first.get("type") != "http.response.start":
            # Mirror what uvicorn does when an app fails before answering.
            logger.error("the in-process container failed before responding", exc_info=_exc(first))
            await _finish(task, closed)
            return httpx.Response(500, text="Internal Server Error", request=request)
        stream = _BridgeStream(queue, task, closed)
        return httpx.Response(
            first["status"], headers=first.get("headers", []), stream=stream, request=request
        )


class _BridgeStream(httpx.AsyncByteStream):
    def __init__(
        self, queue: asyncio.Queue[object], task: asyncio.Task[None], closed: asyncio.Event
    ) -> None:
        self._queue = queue
        self._task = task
        self._closed = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is _END:
                raise httpx.RemoteProtocolError("the in-process container ended without a body end")
            if isinstance(item, BaseException):
                raise httpx.ReadError("the in-process container failed mid-response") from item
            assert isinstance(item, MutableMapping)
            if item.get("type") != "http.response.body":
                continue
            if item.get("body"):
                yield bytes(item["body"])
            if not item.get("more_body", False):
                return

    async def aclose(self) -> None:
        await _finish(self._task, self._closed)


async def _finish(task: asyncio.Task[None], closed: asyncio.Event) -> None:
    """Tell the app the reader is gone, then stop it: nothing may outlive the response."""
    closed.set()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def _exc(item: object) -> BaseException | None:
    return item if isinstance(item, BaseException) else None


def _scope(request: httpx.Request) -> Message:
    url = request.url
    return {
        "type": "http",
        # 2.3: the app learns of a gone reader through receive(), which Starlette listens to.
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "server": (url.host, url.port or 80),
        "client": ("127.0.0.1", 0),
        "state": {},
        "extensions": {},
    }
