"""One recorded HTTP exchange: what was sent, what came back and when, and trimmed evidence."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Final

from ._limits import KEPT_WHEN_CUT
from ._sdk_replica import SDKResult, run_sdk
from ._sse import SpecParse, looks_like_jsonlines, parse_spec

SENT_LIMIT: Final = 400
RECEIVED_LIMIT: Final = 600
_SECRET_HEADERS: Final = frozenset({"authorization", "x-api-key", "api-key"})
_SHOWN_HEADERS: Final = ("content-type", "accept", "transfer-encoding", "content-length")


def trim_bytes(data: bytes, limit: int = RECEIVED_LIMIT) -> str:
    """Printable form of raw bytes that keeps CR, LF and odd bytes visible, cut to ``limit``."""
    text = data.decode("utf-8", errors="backslashreplace")
    text = text.replace("\r", "\\r").replace("\n", "\\n\n").replace("\ufeff", "\\ufeff")
    if len(text) > limit:
        return text[:limit] + f"… ({len(data)} bytes in all)"
    return text


def trim_text(text: str, limit: int = SENT_LIMIT) -> str:
    """Cut ``text`` to ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters in all)"


class CheckFailure(AssertionError):
    """The target violated the checked property.

    ``sent`` and ``received`` are JSON-able evidence (usually from ``Exchange.sent()`` and
    ``Exchange.received()``); reporters print them trimmed.
    """

    def __init__(self, message: str, *, sent: Any = None, received: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.sent = sent
        self.received = received


@dataclass(eq=False)
class Exchange:
    """A request and its response as raw bytes with per-chunk arrival times (seconds)."""

    method: str
    url: str
    request_headers: dict[str, str] = field(repr=False)  # holds the bearer token
    request_body: bytes = field(repr=False)
    stream: bool = False
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    chunks: list[tuple[float, bytes]] = field(default_factory=list, repr=False)
    elapsed: float = 0.0
    started: float = 0.0  # time.perf_counter() when the request was sent
    transport_error: str | None = None
    headers_at: float | None = None  # seconds from sending to the response headers
    cut: str | None = None  # why the kit stopped reading (deadline, byte cap); None if it ended
    received_bytes: int = 0  # the whole answer's size, also when only its head was kept

    def cut_off(self, reason: str, received: int) -> None:
        """Stop recording: keep the first bytes as evidence and say why the rest is missing."""
        self.cut = reason
        self.received_bytes = received
        kept, total = [], 0
        for t, chunk in self.chunks:
            if total >= KEPT_WHEN_CUT:
                break
            kept.append((t, chunk[: KEPT_WHEN_CUT - total]))
            total += len(kept[-1][1])
        self.chunks = kept

    @property
    def complete(self) -> bool:
        """An answer arrived and ended on its own (not cut off, connection intact)."""
        return self.status is not None and self.cut is None and self.transport_error is None

    @functools.cached_property
    def body(self) -> bytes:
        """The whole response body."""
        return b"".join(chunk for _, chunk in self.chunks)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' if absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @functools.cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @functools.cached_property
    def spec(self) -> SpecParse:
        """The body through the strict WHATWG parser, chunked as it arrived."""
        return parse_spec(chunk for _, chunk in self.chunks)

    @functools.cached_property
    def sdk(self) -> SDKResult:
        """The body through the OpenAI Python SDK replica, chunked as it arrived."""
        return run_sdk(chunk for _, chunk in self.chunks)

    @property
    def is_jsonlines(self) -> bool:
        """LMI-style newline-delimited JSON instead of SSE."""
        return looks_like_jsonlines(self.body)

    @property
    def error_message(self) -> str:
        """The OpenAI error message from a JSON error body, else a trimmed body."""
        data = self.json
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                return str(err["message"])[:200]
            if isinstance(data.get("message"), str):
                return str(data["message"])[:200]
        return trim_bytes(self.body, 200)

    def describe(self) -> str:
        """One-line status summary, e.g. ``HTTP 400 application/json: bad temperature``."""
        if self.status is None:
            return f"no response ({self.transport_error})"
        if self.cut is not None:
            return (
                f"HTTP {self.status} {self.content_type or '(no content-type)'} cut off: {self.cut}"
            )
        if self.status == 200:
            return f"HTTP 200 {self.content_type or '(no content-type)'}"
        return (
            f"HTTP {self.status} {self.content_type or '(no content-type)'}: {self.error_message}"
        )

    def event_arrivals(self) -> list[float]:
        """Arrival time of each spec-dispatched event (when its final byte came in)."""
        times, ends, total = [], [], 0
        for t, chunk in self.chunks:
            total += len(chunk)
            times.append(t)
            ends.append(total)
        arrivals, i = [], 0
        for event in self.spec.events:
            while i < len(ends) - 1 and ends[i] < event.end:
                i += 1
            arrivals.append(times[i])
        return arrivals

    def sent(self) -> dict[str, Any]:
        """Evidence of the request: method, URL, notable headers, trimmed body."""
        headers = {
            k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v)
            for k, v in self.request_headers.items()
        }
        try:
            body: Any = trim_text(self.request_body.decode("utf-8"))
        except UnicodeDecodeError:
            body = trim_bytes(self.request_body, SENT_LIMIT)
        return {"method": self.method, "url": self.url, "headers": headers, "body": body}

    def received(self, snippet: bytes | str | None = None) -> dict[str, Any]:
        """Evidence of the response: status, notable headers, and the bytes that matter."""
        if self.status is None:
            return {"status": None, "error": self.transport_error}
        shown = {k: v for k, v in self.headers.items() if k in _SHOWN_HEADERS}
        if snippet is None:
            snippet = self.body
        text = trim_bytes(snippet) if isinstance(snippet, bytes) else trim_text(snippet)
        evidence: dict[str, Any] = {"status": self.status, "headers": shown, "body": text}
        if self.cut is not None:
            evidence["cut"] = f"{self.cut} ({self.received_bytes:,} bytes read)"
        return evidence

    def failure(self, message: str, snippet: bytes | str | None = None) -> CheckFailure:
        """A CheckFailure carrying this exchange as evidence (``snippet``: the bytes at fault)."""
        if self.cut is not None:
            message += f" (the kit cut this answer off: {self.cut})"
        return CheckFailure(message, sent=self.sent(), received=self.received(snippet))
