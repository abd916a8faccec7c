"""Raw ASGI plumbing shared by the recorder and the replay server.

Both are plain ASGI callables rather than Starlette apps: a router would answer some paths
itself (redirects, 404s, 405s), and here every request must reach the container or the
capture exactly as it was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Final

from ._format import HOP_HEADERS, Response

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UNANSWERED_STATUS: Final = 502


class StreamBroken(Exception):
    """Raised out of the app to make the server drop the connection mid-body."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def until_disconnect(receive: Receive) -> None:
    """Return when the client has gone (call only after the body has been read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def request_headers(scope: Message) -> list[tuple[str, str]]:
    """The request's headers as text pairs, in order."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]


def request_path(scope: Message) -> str:
    """The path with its query string, as the client sent it."""
    path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string") or b""
    return (path + (b"?" + query if query else b"")).decode("latin-1")


async def start_response(send: Send, status: int, headers: list[tuple[str, str]]) -> None:
    """Send the status and headers, leaving out the ones the serving server sets itself."""
    raw = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in headers
        if k.lower() not in HOP_HEADERS
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def send_unanswered(send: Send, error: str) -> None:
    """What the recorder (and so the replay) answers when the container gave no answer at all.

    ASGI cannot drop a connection before the response starts, so a 502 stands in for it, in
    the recording and in every replay alike.
    """
    body = json.dumps({"error": {"message": f"capture: the container gave no answer: {error}"}})
    await start_response(send, UNANSWERED_STATUS, [("content-type", "application/json")])
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


def paced(times: Iterable[float], max_wait: float | None) -> list[float]:
    """When a replay plays parts recorded at ``times``: each pause capped at ``max_wait``.

    Offsets in seconds from the request's arrival, as ``times`` are; recorded times that go
    backwards (parts that arrived together) are played together.
    """
    offsets, before, due = [], 0.0, 0.0
    for t in times:
        pause = max(0.0, t - before)
        before = max(t, before)
        due += pause if max_wait is None else min(pause, max_wait)
        offsets.append(due)
    return offsets


def played_parts(response: Response) -> list[float]:
    """The recorded times a replay plays, in order: the head, each chunk, and the end.

    An answer the client gave up on (``client_gone``) stops at its last recorded part: the
    replay then waits, as the container did, until the client goes.
    """
    if response.ended == "client_gone":
        head = [] if response.status is None else [response.head_at]
        return head + [t for t, _ in response.chunks]
    return [response.head_at, *(t for t, _ in response.chunks), response.end]


async def play(
    response: Response,
    send: Send,
    receive: Receive,
    start: float,
    max_wait: float | None = None,
) -> None:
    """Answer with a recorded response, each part at its recorded time after ``start``.

    ``max_wait`` caps every pause (before the head, and between chunks): a slow container's
    replay then takes seconds, not minutes, while each part still arrives separately and in
    order. A pause the client did not wait out is never shortened into an answer.

    Raises:
        StreamBroken: the container broke the stream there; raising makes the server drop
            the connection mid-body, as the container did.
    """
    loop = asyncio.get_running_loop()
    due = iter(paced(played_parts(response), max_wait))

    async def next_part() -> None:
        await asyncio.sleep(max(0.0, start + next(due) - loop.time()))

    if response.status is None and response.ended == "client_gone":
        # The kit gave up before the container answered at all (its timeout): do the same.
        await until_disconnect(receive)
        return
    await next_part()
    if response.status is None:
        await send_unanswered(send, response.error or "unknown")
        return
    await start_response(send, response.status, response.headers)
    for _, data in response.chunks:
        await next_part()
        await send({"type": "http.response.body", "body": data, "more_body": True})
    if response.ended == "client_gone":
        # The kit stopped reading (its timeout): keep it waiting as the container did.
        await until_disconnect(receive)
        return
    await next_part()
    if response.ended in ("upstream_error", "cut"):
        raise StreamBroken(f"replaying a broken stream: {response.error}")
    await send({"type": "http.response.body", "body": b"", "more_body": False})
