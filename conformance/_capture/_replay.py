"""A replay server: answers each request with the container's recorded answer to it.

Requests are matched on method, path and body digest (JSON key order and whitespace ignored).
Headers only break ties: when a capture holds several answers to the same body, the one whose
recorded request headers agree most with the new request's wins, so a change to headers a
container ignores (User-Agent, X-Stainless-*) never invalidates a capture. Repeated requests
get the recorded answers in order, then start over. A request the capture has no answer for
gets a loud 599 and is listed in :attr:`Replay.misses`. A capture holding several kit runs (one
per mode) replays one of them: the same request may have got another answer in another run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from ._asgi import (
    Message,
    Receive,
    Send,
    paced,
    play,
    played_parts,
    read_body,
    request_headers,
    request_path,
)
from ._format import EXCHANGES_FILE, Exchange, body_digest, matched_headers, read_exchanges

MISS_STATUS: Final = 599
RECAPTURE: Final = "re-capture with `make engines`"

Key = tuple[str, str, str]


class Replay:
    """An ASGI app serving the exchanges of one capture."""

    def __init__(
        self,
        exchanges: Iterable[Exchange],
        *,
        source: str = "the capture",
        max_wait: float | None = None,
    ) -> None:
        self.source = source
        self.max_wait = max_wait
        self.misses: list[str] = []
        self.exchanges = list(exchanges)
        self._by_key: dict[Key, list[Exchange]] = {}
        for exchange in self.exchanges:
            req = exchange.request
            self._by_key.setdefault((req.method, req.path, req.digest), []).append(exchange)
        self._turns: dict[tuple[Key, tuple[int, ...]], Iterator[Exchange]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_dir(
        cls, folder: Path, *, max_wait: float | None = None, run: str | None = None
    ) -> Replay:
        """The replay of a capture folder (its ``exchanges.jsonl``), or of one ``run`` in it.

        See :func:`play` for ``max_wait``.
        """
        path = folder / EXCHANGES_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no capture at {path}; {RECAPTURE}")
        exchanges = [e for e in read_exchanges(path) if run is None or e.run == run]
        if not exchanges:
            raise LookupError(f"{path} holds no exchange of the run {run!r}; {RECAPTURE}")
        source = str(folder) if run is None else f"{folder} ({run} run)"
        return cls(exchanges, source=source, max_wait=max_wait)

    def longest_answer(self) -> float:
        """Seconds the slowest recorded answer takes to replay, up to its last recorded part.

        A client whose deadline is well past this gets every recorded answer whole, and still
        sees each recorded hang (an answer it gave up on) as a hang.
        """
        return max(
            (
                max(paced(played_parts(e.response), self.max_wait), default=0.0)
                for e in self.exchanges
            ),
            default=0.0,
        )

    def match(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Exchange:
        """The recorded exchange that answers this request.

        Raises:
            LookupError: the capture holds no answer to this request.
        """
        key = (method.upper(), path, body_digest(body))
        candidates = self._by_key.get(key)
        if not candidates:
            preview = body[:120].decode("utf-8", "replace")
            raise LookupError(
                f"{self.source} has no answer to {method} {path} ({len(body)} bytes: "
                f"{preview!r}); the kit now sends a request the capture never saw: {RECAPTURE}"
            )
        wanted = matched_headers(headers)

        def agreement(exchange: Exchange) -> int:
            got = exchange.request.headers
            return sum(got.get(k) == v for k, v in wanted.items()) - len(got.keys() - wanted)

        best = max(agreement(e) for e in candidates)
        chosen = [e for e in candidates if agreement(e) == best]
        turn_key = (key, tuple(id(e) for e in chosen))
        with self._lock:
            if turn_key not in self._turns:
                self._turns[turn_key] = itertools.cycle(chosen)
            return next(self._turns[turn_key])

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        start = asyncio.get_running_loop().time()
        path = request_path(scope)
        try:
            exchange = self.match(scope["method"], path, dict(request_headers(scope)), body)
        except LookupError as exc:
            with self._lock:
                self.misses.append(str(exc))
            payload = {"error": {"message": str(exc), "type": "capture_miss"}}
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": MISS_STATUS, "headers": headers})
            await send({"type": "http.response.body", "body": json.dumps(payload).encode()})
            return
        await play(exchange.response, send, receive, start, self.max_wait)


@contextmanager
def serve_replay(
    folder: Path, *, max_wait: float | None = None, run: str | None = None
) -> Iterator[tuple[str, Replay]]:
    """Serve a capture folder (or one ``run`` of it) on loopback; yield its URL and the Replay."""
    from conformance._wire._serve import serve_app

    replay = Replay.from_dir(folder, max_wait=max_wait, run=run)
    with serve_app(replay) as url:
        yield url, replay
