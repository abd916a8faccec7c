"""A capture: a container's raw answers to the kit's requests, stored as JSON lines.

One line per exchange, in the order the requests arrived. Requests keep only what matching and
reading need: the method, the path, the headers that can change a container's answer, and a
digest of the body (plus the body itself when it is small). Responses keep everything the kit
sees: status, headers, every chunk's bytes and arrival time, and how the exchange ended.
Secrets never reach a capture: credential headers are stored as ``<redacted>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

FORMAT_VERSION: Final = 1
EXCHANGES_FILE: Final = "exchanges.jsonl"
MANIFEST_FILE: Final = "manifest.json"
BODY_KEPT_BYTES: Final = 64 * 1024  # larger request bodies are stored as a digest and a preview
PREVIEW_BYTES: Final = 200
REDACTED: Final = "<redacted>"
SECRET_HEADERS: Final = frozenset({"authorization", "x-api-key", "api-key", "cookie"})
# Request headers a container may answer differently to. Everything else (User-Agent, the SDK's
# X-Stainless-* family, Accept-Encoding...) is ignored when matching, so the kit can change
# them without invalidating the captures.
MATCHED_HEADERS: Final = ("content-type", "accept", "authorization")
MATCHED_PREFIX: Final = "x-amzn-sagemaker-"
# Set per hop by the server that writes the answer; a replay server adds its own.
HOP_HEADERS: Final = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server"})


def body_digest(body: bytes) -> str:
    """A digest of a request body that ignores JSON key order and whitespace."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        body = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(body).hexdigest()


def matched_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers that take part in matching, lower-cased, secrets redacted."""
    kept = {}
    for name, value in headers.items():
        key = name.lower()
        if key in MATCHED_HEADERS or key.startswith(MATCHED_PREFIX):
            kept[key] = REDACTED if key in SECRET_HEADERS else value
    return kept


def _encode(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode("ascii")}


def _decode(item: Mapping[str, Any]) -> bytes:
    if "b64" in item:
        return base64.b64decode(item["b64"])
    return str(item["text"]).encode("utf-8")


@dataclass(frozen=True)
class Request:
    """What the container was sent (only what matching and a reader need)."""

    method: str
    path: str
    headers: dict[str, str]
    digest: str
    size: int
    body: bytes | None = None  # None when larger than BODY_KEPT_BYTES
    preview: bytes = b""

    @classmethod
    def of(cls, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Request:
        """Describe a request as it arrived, keeping the body only if it is small."""
        kept = body if len(body) <= BODY_KEPT_BYTES else None
        return cls(
            method.upper(),
            path,
            matched_headers(headers),
            body_digest(body),
            len(body),
            kept,
            body[:PREVIEW_BYTES] if kept is None else b"",
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "digest": self.digest,
            "size": self.size,
        }
        if self.body is not None:
            data["body"] = _encode(self.body)
        else:
            data["preview"] = _encode(self.preview)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        return cls(
            data["method"],
            data["path"],
            dict(data["headers"]),
            data["digest"],
            data["size"],
            _decode(data["body"]) if "body" in data else None,
            _decode(data["preview"]) if "preview" in data else b"",
        )


@dataclass
class Response:
    """What came back, with arrival times in seconds since the request was received.

    ``ended`` says how the exchange finished: ``complete``; ``upstream_error`` (the container
    broke the connection: ``error`` says how); ``client_gone`` (the kit stopped reading, for
    example at its timeout, after ``end`` seconds); or ``cut`` (the answer passed the
    recorder's byte cap, above the kit's own: the recorder stopped there and dropped the
    connection, and a replay does the same).
    """

    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    head_at: float = 0.0
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    end: float = 0.0
    ended: str = "complete"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "head_at": round(self.head_at, 6),
            "chunks": [{"t": round(t, 6), **_encode(data)} for t, data in self.chunks],
            "end": round(self.end, 6),
            "ended": self.ended,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Response:
        return cls(
            data["status"],
            [(str(k), str(v)) for k, v in data["headers"]],
            data["head_at"],
            [(c["t"], _decode(c)) for c in data["chunks"]],
            data["end"],
            data["ended"],
            data.get("error"),
        )


@dataclass
class Exchange:
    """One request and the container's answer; ``run`` names the kit run that sent it."""

    request: Request
    response: Response
    run: str = ""

    def to_json(self) -> str:
        data = {"run": self.run, "request": self.request.to_dict()}
        data["response"] = self.response.to_dict()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Exchange:
        data = json.loads(line)
        return cls(
            Request.from_dict(data["request"]), Response.from_dict(data["response"]), data["run"]
        )


def write_exchanges(path: Path, exchanges: Iterable[Exchange]) -> None:
    """Write exchanges as JSON lines (UTF-8, one exchange per line)."""
    with path.open("w", encoding="utf-8") as handle:
        for exchange in exchanges:
            handle.write(exchange.to_json() + "\n")


def read_exchanges(path: Path) -> Iterator[Exchange]:
    """Read the exchanges of a capture file, in recorded order."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield Exchange.from_json(line)
