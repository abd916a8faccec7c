"""A faithful replica of the OpenAI Python SDK's stream decoding, and its comparison with the spec.

Replicates ``SSEDecoder`` and the ``Stream.__stream__`` loop of openai-python
(https://github.com/openai/openai-python, ``src/openai/_streaming.py``, checked against 2.54.0),
which itself began as a copy of httpx-sse's decoder. Deviations from WHATWG are kept on purpose:
they are what real clients do. Keep this in sync when the SDK changes its decoder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._sse import SpecParse


@dataclass(frozen=True)
class SDKEvent:
    """Mirrors ``openai._streaming.ServerSentEvent``."""

    event: str | None
    data: str
    id: str | None
    retry: int | None


class SDKDecoder:
    """Mirrors ``openai._streaming.SSEDecoder`` line for line."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._last_event_id: str | None = None
        self._retry: int | None = None

    def iter_bytes(self, iterator: Iterable[bytes]) -> Iterator[SDKEvent]:
        """Split each SSE chunk with bytes.splitlines() (only CR and LF), then decode lines."""
        for chunk in self._iter_chunks(iterator):
            for raw_line in chunk.splitlines():
                line = raw_line.decode("utf-8")  # strict: invalid UTF-8 raises, as in the SDK
                sse = self.decode(line)
                if sse:
                    yield sse

    def _iter_chunks(self, iterator: Iterable[bytes]) -> Iterator[bytes]:
        data = bytearray()  # the SDK uses bytes; a bytearray keeps long events linear
        for chunk in iterator:
            for line in chunk.splitlines(keepends=True):
                data += line
                if data.endswith((b"\r\r", b"\n\n", b"\r\n\r\n")):
                    yield bytes(data)
                    data = bytearray()
        if data:
            yield bytes(data)

    def decode(self, line: str) -> SDKEvent | None:
        """One line in, maybe one event out."""
        if not line:
            # The SDK dispatches when *any* field is set; the spec needs a non-empty data
            # buffer. last_event_id is never reset, so after one `id:` every blank line fires.
            if (
                not self._event
                and not self._data
                and not self._last_event_id
                and self._retry is None
            ):
                return None
            sse = SDKEvent(
                event=self._event or None,
                data="\n".join(self._data),
                id=self._last_event_id,
                retry=self._retry,
            )
            self._event = None
            self._data = []
            self._retry = None
            return sse
        if line.startswith(":"):
            return None
        fieldname, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if fieldname == "event":
            self._event = value
        elif fieldname == "data":
            self._data.append(value)
        elif fieldname == "id":
            if "\0" not in value:
                self._last_event_id = value
        elif fieldname == "retry":
            try:  # noqa: SIM105  (kept as the SDK writes it)
                self._retry = int(value)
            except (TypeError, ValueError):
                pass
        return None


@dataclass
class SDKResult:
    """What ``for chunk in client.chat.completions.create(stream=True)`` would have done."""

    chunks: list[Any] = field(default_factory=list)  # the JSON payloads it yielded
    stopped_at_done: bool = False
    error_type: str | None = None  # JSONDecodeError, APIError, UnicodeDecodeError
    error: str | None = None
    error_event: SDKEvent | None = None

    @property
    def ok(self) -> bool:
        """The loop finished without raising."""
        return self.error_type is None


def run_sdk(chunks: Iterable[bytes]) -> SDKResult:
    """Replay ``Stream.__stream__`` over the bytes, as they arrived, without raising."""
    result = SDKResult()
    current: SDKEvent | None = None
    try:
        for sse in SDKDecoder().iter_bytes(chunks):
            current = sse
            if sse.data.startswith("[DONE]"):
                result.stopped_at_done = True
                break
            data = json.loads(sse.data)  # the SDK's sse.json()
            if sse.event and sse.event.startswith("thread."):
                # Assistants events are wrapped, and never checked for an error key.
                result.chunks.append({"data": data, "event": sse.event})
                continue
            if isinstance(data, dict) and data.get("error"):
                error = data["error"]
                message = error.get("message") if isinstance(error, dict) else None
                if not message or not isinstance(message, str):
                    message = "An error occurred during streaming"
                result.error_type, result.error, result.error_event = "APIError", message, sse
                return result
            result.chunks.append(data)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        result.error_type, result.error, result.error_event = type(exc).__name__, str(exc), current
    return result


def spec_payloads(parse: SpecParse) -> tuple[list[Any], str | None]:
    """The spec-side view: JSON payloads up to ``[DONE]``, and the first reason they are invalid."""
    payloads: list[Any] = []
    for event in parse.events:
        if event.data == "[DONE]":
            break
        try:
            payload = json.loads(event.data)
        except ValueError:
            return payloads, f"event data is not JSON: {event.data[:80]!r}"
        if not isinstance(payload, dict):
            return payloads, f"event data is JSON but not an object: {event.data[:80]!r}"
        payloads.append(payload)
    return payloads, None


def compare(parse: SpecParse, sdk: SDKResult) -> str | None:
    """Say how the strict parser and the SDK replica disagree about one stream, or None."""
    payloads, spec_problem = spec_payloads(parse)
    if sdk.error_type == "APIError":
        return None  # an error frame is read the same way by both; not a framing question
    if spec_problem is None and not sdk.ok:
        raw = sdk.error_event.data if sdk.error_event else ""
        return (
            "spec-valid, but the OpenAI Python SDK fails on it: "
            f"{sdk.error_type} on an event with data {raw[:60]!r}"
        )
    if spec_problem is not None and sdk.ok:
        return f"the OpenAI Python SDK accepts it, but it is not spec-valid: {spec_problem}"
    if spec_problem is None and sdk.ok and payloads != sdk.chunks:
        if len(sdk.chunks) < len(payloads):
            return (
                "spec-valid, but the OpenAI Python SDK fails on it: it yields "
                f"{len(sdk.chunks)} of the {len(payloads)} events (a BOM or odd framing)"
            )
        return (
            f"the OpenAI Python SDK yields {len(sdk.chunks)} events where the spec has "
            f"{len(payloads)}: the framing is read differently"
        )
    return None
