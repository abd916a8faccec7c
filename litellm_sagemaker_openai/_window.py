"""The coalescing window (``stream_coalesce_ms``): hold a stream's events for W ms, send one chunk.

A LiteLLM proxy pays a fixed CPU cost per chunk it forwards, whatever the chunk holds, and a
container emits one event per token, about 20 ms apart. Merging what arrives within W ms pays
that cost once per window: the proxy carries more streams, and readers see text arrive in
small runs instead of token by token. Merging follows ``_coalesce`` (exact, or not at all).

Never held: a stream's first event (time to first chunk is unchanged), an event that ends the
answer (a ``finish_reason``, or no choices: usage), ``[DONE]``, the end of the body, and an
error (what is held goes out first, then the error is raised). Once an event is held, the
plugin keeps reading until W ms have passed since it arrived.

Sync streams have no spare thread to read with, and a read that httpcore times out closes the
connection. So the sync reader asks first whether a read would return before the deadline:
bytes h11 has already buffered, bytes the TLS layer holds, or a socket that becomes readable
in time (poll). Where that cannot be known (no socket: a mock transport), nothing is held
across reads, and only events that arrived in one body piece are merged.
"""

from __future__ import annotations

import math
import select
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, Final

import httpx

from ._batches import ReadAhead
from ._coalesce import coalesce_chunks
from ._exceptions import ConfigurationError
from ._number import read_number
from ._sse import SSEDecoder

MAX_WINDOW_MS: Final = 1000.0  # longer windows stop being a stream
Parse = Callable[[str], dict[str, Any]]


def as_window_ms(value: Any, name: str) -> float:
    """Milliseconds from 0 (off) to :data:`MAX_WINDOW_MS`; a YAML or environment string too."""
    number = read_number(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_WINDOW_MS:
        raise ConfigurationError(
            f"{name} must be a number of milliseconds from 0 (off) to {MAX_WINDOW_MS:g}, got "
            f"{value!r}; e.g. `{name}: 50` in the deployment's litellm_params"
        )
    return number


def _ends(data: dict[str, Any]) -> bool:
    choices = data.get("choices")
    if not choices or not isinstance(choices, list):
        return True
    return any(isinstance(c, dict) and c.get("finish_reason") for c in choices)


class Window:
    """Which parsed events are held, and until when; the readers below drive it."""

    __slots__ = ("_held", "_seconds", "_started", "deadline")

    def __init__(self, milliseconds: float) -> None:
        self._seconds = milliseconds / 1000
        self._held: list[dict[str, Any]] = []
        self._started = False
        self.deadline: float | None = None  # monotonic time at which what is held must go

    @property
    def held(self) -> bool:
        return bool(self._held)

    def due(self) -> bool:
        """Whether what is held must go now: its deadline has passed, however busy the stream."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def add(self, data: dict[str, Any], arrived: float) -> bool:
        """Hold ``data``; True when what is held must go now (first event, or an ending one)."""
        self._held.append(data)
        if self.deadline is None:
            self.deadline = arrived + self._seconds
        first, self._started = not self._started, True
        return first or _ends(data)

    def take(self) -> list[dict[str, Any]]:
        """What is held, merged, and the window emptied."""
        held, self._held, self.deadline = self._held, [], None
        return coalesce_chunks(held)


def iter_windows(
    raw: Iterator[bytes],
    decoder: SSEDecoder,
    response: httpx.Response,
    window: Window,
    parse: Parse,
) -> Iterator[list[dict[str, Any]]]:
    """The parsed events of a sync body, in merged runs; each run is sent as it is yielded."""
    ready = read_ready(response)
    ended = False
    try:
        while not ended:
            if window.held and (window.due() or not ready(window.deadline or 0.0)):
                yield window.take()
                continue
            try:
                payloads = decoder.feed(next(raw))
            except StopIteration:
                payloads, ended = decoder.close(), True
            arrived = time.monotonic()
            ended = ended or decoder.done
            for payload in payloads:
                if window.add(parse(payload), arrived):
                    yield window.take()
    except Exception:
        if window.held:
            yield window.take()
        raise
    if window.held:
        yield window.take()


async def aiter_windows(
    ahead: ReadAhead, window: Window, parse: Parse
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Async twin of :func:`iter_windows`, over a body read ahead by its own task."""
    try:
        while True:
            if window.due() or not await ahead.wait(window.deadline):
                yield window.take()
                continue
            payloads, arrived = ahead.take()  # raises the reader's error once nothing is left
            if not payloads:
                break
            for payload in payloads:
                if window.add(parse(payload), arrived):
                    yield window.take()
    except Exception:
        if window.held:
            yield window.take()
        raise
    if window.held:
        yield window.take()


def read_ready(response: httpx.Response) -> Callable[[float], bool]:
    """``ready(deadline)``: whether the next read of ``response`` returns before ``deadline``.

    True as soon as bytes are buffered (h11, TLS) or the socket turns readable; False at the
    deadline. Always False where it cannot be known, so that nothing is held across reads.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    h11 = _h11_connection(response)
    if not isinstance(sock, socket.socket) or h11 is None:
        return lambda _deadline: False

    def ready(deadline: float) -> bool:
        if _frame_waiting(h11.trailing_data[0]):
            return True
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        left = deadline - time.monotonic()
        return left > 0 and _readable(sock, left)

    return ready


def _frame_waiting(buffered: bytes) -> bool:
    """Whether h11's buffer holds the start of a chunk's data, which it hands on at once.

    After a chunk, h11 keeps its closing CRLF until the next chunk arrives; a chunk header
    alone gives no data yet. (A body without chunked framing, rare for SSE, is read as if its
    bytes were a header: the window then waits out W for bytes that were already there, which
    are merged later, never lost.)
    """
    _, crlf, data = buffered.lstrip(b"\r\n").partition(b"\r\n")
    return bool(crlf and data)


def _h11_connection(response: httpx.Response) -> Any:
    """The h11 state under a sync httpx response (httpx 0.28, httpcore 1.0), or None.

    tests/provider/test_window.py::test_sync_bytes_h11_buffered_count_as_ready fails, naming
    this function, if an httpx or httpcore release moves it.
    """
    try:
        stream: Any = response.stream
        byte_stream = stream._stream._httpcore_stream._stream
        state = byte_stream._connection._h11_state
    except AttributeError:
        return None
    return state if hasattr(state, "trailing_data") else None


def _readable(sock: socket.socket, seconds: float) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(math.ceil(seconds * 1000)))
    readable, _, _ = select.select([sock], [], [], seconds)  # Windows: no poll
    return bool(readable)
