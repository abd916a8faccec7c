"""One incremental SSE decoder (bytes -> ``data`` payloads) shared by the sync and async paths.

Follows the WHATWG event-stream rules that matter for chat streams
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in CRLF, LF or CR (a CRLF may be split across network reads), a leading BOM is
dropped, ``:`` lines are comments, ``data`` lines join with LF, and a blank line dispatches
only when data was buffered, so ``event: ping`` keep-alives never surface as empty events.
``[DONE]`` is handled here and nowhere else.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Final

from ._exceptions import StreamError

DONE: Final = "[DONE]"
# SageMaker caps a response payload at 6 MiB, so no legitimate event is larger than this;
# the cap keeps a container that never sends a newline from growing our buffer without bound.
MAX_EVENT_CHARS: Final = 8 * 1024 * 1024
_LINE_END: Final = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Feed raw bytes in network-sized pieces; get back complete ``data`` payloads.

    Work is linear in the input however it is split: an unterminated line is kept as a list
    of pieces and only the newest piece is searched for a line end.
    """

    __slots__ = (
        "_data", "_data_len", "_error", "_max", "_pieces", "_pieces_len", "_skip_lf", "_started",
        "_utf8", "done",
    )  # fmt: skip

    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._pieces: list[str] = []  # an unterminated line, carried to the next feed
        self._pieces_len = 0
        self._skip_lf = False  # the last read ended in CR: a LF opening the next one pairs with it
        self._data: list[str] = []
        self._data_len = 0
        self._max = max_event_chars
        self._started = False
        self._error: StreamError | None = None  # raised on the next call, after good payloads
        self.done = False  # set once ``data: [DONE]`` arrives

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            return self._utf8.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise StreamError(f"the stream is not valid UTF-8 ({exc.reason})") from None

    def feed(self, chunk: bytes) -> list[str]:
        """Decode ``chunk`` and return the payloads of every event it completes."""
        if self._error is not None:
            raise self._error
        text = self._decode(chunk)
        if not text:
            return []
        if not self._started:
            self._started = True
            text = text[1:] if text[0] == "\ufeff" else text
        if self._skip_lf:
            self._skip_lf = False
            text = text[1:] if text[:1] == "\n" else text
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end < 0:
            self._hold(text)
            return []
        head, tail = text[: end + 1], text[end + 1 :]
        self._skip_lf = not tail and head[-1] == "\r"
        if self._pieces:
            head = "".join(self._pieces) + head
            self._pieces, self._pieces_len = [], 0
        lines = _LINE_END.split(head)
        lines.pop()  # the empty string after the final line end
        out: list[str] = []
        try:
            for line in lines:
                self._line(line, out)
        except StreamError as exc:
            if not out:
                raise
            # Events that arrived before the bad line in the same read still reach the caller.
            self._error = exc
            return out
        if tail:
            self._hold(tail)
        return out

    def _hold(self, text: str) -> None:
        self._pieces.append(text)
        self._pieces_len += len(text)
        if self._pieces_len > self._max:
            raise StreamError(
                f"an SSE line exceeded {self._max} characters without a line break; "
                "the container is not sending server-sent events"
            )

    def close(self) -> list[str]:
        """Flush at end of stream. Per the spec an event not ended by a blank line is dropped."""
        if self._error is not None:
            raise self._error
        out: list[str] = []
        rest = "".join(self._pieces) + self._decode(b"", final=True)
        self._pieces, self._pieces_len = [], 0
        if rest:
            for line in _LINE_END.split(rest):
                self._line(line, out)
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if self.done:
            return
        if not line:
            if self._data:
                payload = "\n".join(self._data)
                self._data.clear()
                self._data_len = 0
                # As the OpenAI SDK does (``sse.data.startswith("[DONE]")``): servers that pad the
                # sentinel ("[DONE] ", "[DONE]\t") still end the stream.
                if payload.startswith(DONE):
                    self.done = True
                else:
                    out.append(payload)
            return
        if line[0] == ":":
            return
        if line[0] in "{[":
            # No SSE field name starts with a brace: this is a JSON document per line.
            raise StreamError(
                "the container streamed JSON lines (LMI-style 'application/jsonlines') instead "
                "of server-sent events; configure it to emit OpenAI SSE ('data: {...}' events) "
                "on /v1/chat/completions"
            )
        name, _, value = line.partition(":")
        if name == "data":
            value = value[1:] if value[:1] == " " else value
            self._data_len += len(value) + 1  # the LF that joins data lines counts too
            if self._data_len > self._max:
                raise StreamError(f"an SSE event exceeded {self._max} characters")
            self._data.append(value)
        # event:, id:, retry: and unknown fields carry nothing a chat client needs.


def iter_sse(chunks: Iterable[bytes], decoder: SSEDecoder) -> Iterator[str]:
    """Yield payloads from a sync byte iterator until ``[DONE]`` or the end of the stream."""
    for chunk in chunks:
        yield from decoder.feed(chunk)
        if decoder.done:
            return
    yield from decoder.close()


async def aiter_sse(chunks: AsyncIterable[bytes], decoder: SSEDecoder) -> AsyncIterator[str]:
    """Async twin of :func:`iter_sse`, over the same decoder."""
    async for chunk in chunks:
        for payload in decoder.feed(chunk):
            yield payload
        if decoder.done:
            return
    for payload in decoder.close():
        yield payload
