"""A strict WHATWG event-stream parser over bytes that also records framing facts.

It follows https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
(§9.2.6) to the letter, so it decides *spec* conformance; ``_sdk_replica`` decides what the
OpenAI Python SDK does with the same bytes. It also spots LMI-style JSON lines.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

BOM: Final = b"\xef\xbb\xbf"
_TERMINATOR_NAMES: Final = {b"\r\n": "CRLF", b"\n": "LF", b"\r": "CR"}


@dataclass(frozen=True)
class SpecEvent:
    """One dispatched event: its type, data, last event id, raw block and end offset."""

    type: str
    data: str
    last_event_id: str
    raw: bytes
    end: int  # byte offset just past the blank line that dispatched it


@dataclass
class SpecFacts:
    """What the framing looked like, beyond the events themselves."""

    fields: Counter[str] = field(default_factory=Counter)  # data/event/id/retry/<other>
    event_types: list[str] = field(default_factory=list)
    comments: int = 0
    terminators: set[str] = field(default_factory=set)
    dataless_blocks: list[bytes] = field(default_factory=list)  # blank-line blocks, no data:
    extra_blank_lines: int = 0  # blank lines that ended no block at all
    bad_retry: list[str] = field(default_factory=list)
    leading_bom: bool = False
    inner_bom: bool = False
    trailing: bytes = b""  # an unterminated block at EOF: the spec discards it
    ends_with_terminator: bool = True


@dataclass
class SpecParse:
    """The result of parsing a whole stream."""

    events: list[SpecEvent]
    facts: SpecFacts


class SpecParser:
    """Incremental WHATWG parser: ``feed()`` byte chunks split anywhere, then ``close()``."""

    def __init__(self) -> None:
        self.events: list[SpecEvent] = []
        self.facts = SpecFacts()
        # Every byte fed so far, so each event can carry its raw block. A bytearray, and an
        # index into _buf instead of re-slicing it per line: a stream of many small events
        # must parse in linear time, whatever size it has.
        self._seen = bytearray()
        self._buf = b""
        self._offset = 0  # absolute offset of _buf[0] in the stream
        self._started = False
        self._data: list[str] = []
        self._type = ""
        self._last_id = ""
        self._block_start = 0
        self._block_lines = 0
        self._block_has_data = False

    def feed(self, chunk: bytes) -> list[SpecEvent]:
        """Consume bytes; return the events they dispatched."""
        self._seen += chunk
        self._buf += chunk
        before = len(self.events)
        if not self._started:
            if len(self._buf) < len(BOM) and BOM.startswith(self._buf):
                return []  # could still be a BOM split across chunks
            self._strip_bom()
        self._drain(final=False)
        return self.events[before:]

    def close(self) -> SpecParse:
        """End of stream: an unterminated block is discarded, as the spec says."""
        if not self._started:
            self._strip_bom()
        self._drain(final=True)
        self.facts.ends_with_terminator = self._seen.endswith((b"\r", b"\n")) or not self._seen
        if self._buf or self._block_lines:
            self.facts.trailing = bytes(self._seen[self._block_start :])
        return SpecParse(self.events, self.facts)

    def _strip_bom(self) -> None:
        self._started = True
        if self._buf.startswith(BOM):
            self.facts.leading_bom = True
            self._buf = self._buf[len(BOM) :]
            self._offset = self._block_start = len(BOM)

    def _drain(self, *, final: bool) -> None:
        buf, start = self._buf, 0
        while True:
            cr, lf = buf.find(b"\r", start), buf.find(b"\n", start)
            if cr < 0 and lf < 0:
                break
            pos = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            if pos == cr and pos + 1 == len(buf) and not final:
                break  # a CR at the end of a chunk may be the first half of a CRLF
            width = 2 if buf[pos : pos + 2] == b"\r\n" else 1
            line = buf[start:pos]
            self.facts.terminators.add(_TERMINATOR_NAMES[buf[pos : pos + width]])
            self._offset += pos + width - start
            start = pos + width
            # Spec: decode as UTF-8 with replacement; CR and LF never occur inside a sequence.
            self._line(line.decode("utf-8", errors="replace"))
        self._buf = buf[start:]

    def _line(self, line: str) -> None:
        if not line:
            self._dispatch()
            return
        self._block_lines += 1
        if "\ufeff" in line:
            self.facts.inner_bom = True
        if line.startswith(":"):
            self.facts.comments += 1
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        self.facts.fields[name] += 1
        if name == "event":
            self._type = value
            self.facts.event_types.append(value)
        elif name == "data":
            self._block_has_data = True
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and not (value.isascii() and value.isdigit()):
            self.facts.bad_retry.append(value)  # the spec ignores it; we still report it

    def _dispatch(self) -> None:
        raw = bytes(self._seen[self._block_start : self._offset])
        self._block_start = self._offset
        if not self._block_lines:
            self.facts.extra_blank_lines += 1
            return
        if not self._block_has_data:
            self.facts.dataless_blocks.append(raw)
        # Spec: an empty data buffer dispatches nothing (the OpenAI SDK deviates here).
        if self._data:
            event_type = self._type or "message"
            data = "\n".join(self._data)
            self.events.append(SpecEvent(event_type, data, self._last_id, raw, self._offset))
        self._data, self._type = [], ""
        self._block_lines, self._block_has_data = 0, False


def parse_spec(chunks: Iterable[bytes]) -> SpecParse:
    """Parse a whole stream given as byte chunks (split anywhere)."""
    parser = SpecParser()
    for chunk in chunks:
        parser.feed(chunk)
    return parser.close()


def looks_like_jsonlines(body: bytes) -> bool:
    """True for LMI-style streams: newline-separated JSON objects with no ``data:`` field."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if len(lines) < 2 or any(ln.startswith((b"data:", b"event:", b":")) for ln in lines):
        return False
    try:
        return all(isinstance(json.loads(ln), dict) for ln in lines)
    except ValueError:
        return False
