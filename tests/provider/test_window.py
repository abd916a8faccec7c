"""stream_coalesce_ms: the window's edges, on the readers themselves, without LiteLLM.

Async: a body whose pieces the test releases one by one. Sync: a raw HTTP/1.1 server on
loopback, plain and with TLS (a certificate made here), whose frames the test releases, so that
reads with a deadline meet a real socket, a TLS layer and h11's buffer. Windows are either effectively endless (a run that came out early can only have
come out by rule) or short with the next piece withheld (a run that came out at all can only
have come out at its deadline), so no assertion depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import queue
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from provider_support import CREDS, MESSAGES, RICH_STREAM, chunk, usage_chunk

from litellm_sagemaker_openai._batches import ReadAhead
from litellm_sagemaker_openai._options import Options
from litellm_sagemaker_openai._request import prepare
from litellm_sagemaker_openai._sse import SSEDecoder
from litellm_sagemaker_openai._stream import ChunkConverter
from litellm_sagemaker_openai._window import (
    Window,
    _h11_connection,
    aiter_windows,
    iter_windows,
    read_ready,
)

ENDLESS = 1e9  # ms: nothing leaves such a window but by rule
HANG = 10.0  # s: only catches a hang


def event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def texts(run: list[dict[str, Any]]) -> list[str]:
    return [c["choices"][0]["delta"].get("content", "") if c["choices"] else "-" for c in run]


def test_the_window_holds_all_but_the_first_and_the_ending_events() -> None:
    window = Window(50)
    assert window.add(chunk({"role": "assistant", "content": ""}), arrived=1.0) is True
    window.take()
    assert window.add(chunk({"content": "a"}), arrived=2.0) is False
    assert window.deadline == pytest.approx(2.05)
    assert window.add(chunk({"content": "b"}), arrived=2.04) is False
    assert window.deadline == pytest.approx(2.05)  # from the first held event, not the last
    assert window.add(chunk({}, "stop"), arrived=2.045) is True
    assert texts(window.take()) == ["ab"] and window.deadline is None and not window.held
    assert window.add(usage_chunk(), arrived=3.0) is True  # no choices: the end of the answer


def test_a_held_event_is_due_once_its_deadline_passed_however_busy_the_stream() -> None:
    window = Window(50)
    window.add(chunk({"content": "a"}), arrived=0.0)
    window.take()
    assert not window.due()  # nothing held
    window.add(chunk({"content": "b"}), arrived=time.monotonic() - 0.06)
    assert window.due()
    window.take()
    window.add(chunk({"content": "c"}), arrived=time.monotonic() + 60)
    assert not window.due()


# --- async: a body the test releases piece by piece -------------------------------------


class Body:
    """An async body: each ``send`` is one piece; ``end`` ends it; ``fail`` breaks it."""

    def __init__(self) -> None:
        self.pieces: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()

    def send(self, *events: dict[str, Any]) -> None:
        self.pieces.put_nowait(b"".join(map(event, events)))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (piece := await self.pieces.get()) is not None:
            if isinstance(piece, Exception):
                raise piece
            yield piece


def _runs(body: Body, ms: float) -> tuple[ReadAhead, Any]:
    ahead = ReadAhead(aiter(body), SSEDecoder())
    return ahead, aiter_windows(ahead, Window(ms), json.loads)


def _readers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "ReadAhead._read" in repr(t.get_coro())]


@pytest.mark.asyncio
async def test_async_first_event_at_once_then_held_until_the_finish() -> None:
    body = Body()
    ahead, runs = _runs(body, ENDLESS)
    body.send(chunk({"role": "assistant", "content": ""}))
    assert texts(await asyncio.wait_for(anext(runs), HANG)) == [""]  # the first: never held
    body.send(chunk({"content": "a"}))
    body.send(chunk({"content": "b"}))
    waiting = asyncio.ensure_future(anext(runs))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held: the window is endless and nothing ended the answer
    body.send(chunk({"content": "c"}, "stop"))
    run = await asyncio.wait_for(waiting, HANG)
    assert texts(run) == ["abc"] and run[0]["choices"][0]["finish_reason"] == "stop"
    body.send(usage_chunk())
    body.pieces.put_nowait(None)
    assert texts(await asyncio.wait_for(anext(runs), HANG)) == ["-"]
    with pytest.raises(StopAsyncIteration):
        await anext(runs)
    await ahead.stop()


@pytest.mark.asyncio
async def test_async_a_held_event_leaves_at_its_deadline_without_more_data() -> None:
    body = Body()
    ahead, runs = _runs(body, 20)
    body.send(chunk({"content": "a"}), chunk({"content": "b"}))  # one piece: merged at once
    assert texts(await asyncio.wait_for(anext(runs), HANG)) == ["a"]  # the first event alone
    assert texts(await asyncio.wait_for(anext(runs), HANG)) == ["b"]  # its window ran out
    body.send(chunk({"content": "c"}))
    assert texts(await asyncio.wait_for(anext(runs), HANG)) == ["c"]
    await runs.aclose()
    await ahead.stop()


@pytest.mark.asyncio
async def test_async_tool_calls_across_a_window_join_per_index() -> None:
    body = Body()
    ahead, runs = _runs(body, ENDLESS)
    for data in RICH_STREAM[:9]:  # one piece each
        body.send(data)
        await asyncio.sleep(0)
    first = await asyncio.wait_for(anext(runs), HANG)
    run = await asyncio.wait_for(anext(runs), HANG)
    assert texts(first) == [""] and len(run) == 1
    choice = run[0]["choices"][0]
    calls = [(c["index"], c["id"], c["function"]["name"], c["function"]["arguments"])
             for c in choice["delta"]["tool_calls"]]  # fmt: skip
    assert calls == [
        (0, "call_a", "get_weather", '{"city": "Paris"}'),
        (1, "call_b", "get_time", "{}"),
    ]
    assert choice["delta"]["content"] == "Hello" and choice["finish_reason"] == "tool_calls"
    await runs.aclose()
    await ahead.stop()


@pytest.mark.asyncio
async def test_async_an_error_mid_window_comes_after_what_was_held() -> None:
    body = Body()
    ahead, runs = _runs(body, ENDLESS)
    body.send(chunk({"content": "a"}))
    body.send(chunk({"content": "b"}))
    body.send(chunk({"content": "c"}))
    body.pieces.put_nowait(httpx.ReadError("connection reset"))
    got = [texts(await asyncio.wait_for(anext(runs), HANG)) for _ in range(2)]
    assert got == [["a"], ["bc"]]
    with pytest.raises(httpx.ReadError):
        await anext(runs)
    await ahead.stop()


@pytest.mark.asyncio
async def test_async_an_error_event_mid_window_comes_after_what_was_held() -> None:
    call = prepare("sagemaker_openai/ep", MESSAGES, Options({}, CREDS), {}, stream=True)
    body = Body()
    ahead = ReadAhead(aiter(body), SSEDecoder())
    runs = aiter_windows(ahead, Window(ENDLESS), ChunkConverter(call).hold)
    error = {"error": {"message": "boom", "type": "internal_server_error", "code": 500}}
    body.send(chunk({"content": "a"}))
    body.send(chunk({"content": "b"}), error)
    got = [texts(await asyncio.wait_for(anext(runs), HANG)) for _ in range(2)]
    assert got == [["a"], ["b"]]
    with pytest.raises(litellm.exceptions.InternalServerError, match="boom"):
        await anext(runs)
    await ahead.stop()


@pytest.mark.asyncio
async def test_async_a_caller_that_cancels_mid_window_leaves_no_reader() -> None:
    body = Body()
    ahead, runs = _runs(body, ENDLESS)
    body.send(chunk({"content": "a"}))
    await asyncio.wait_for(anext(runs), HANG)
    body.send(chunk({"content": "b"}))
    waiting = asyncio.ensure_future(anext(runs))
    await asyncio.sleep(0.02)
    assert _readers()  # the reader is waiting for the body
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await runs.aclose()
    await ahead.stop()
    assert not _readers()


# --- sync: a raw HTTP/1.1 server whose frames the test releases -------------------------


def _tls_contexts(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return server, ssl.create_default_context(cadata=cert_pem.decode())


class Server:
    """One chunked response per connection; ``release(bytes)`` writes it as one ``sendall``."""

    def __init__(self, tls: tuple[ssl.SSLContext, ssl.SSLContext] | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.tls = tls
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.writes: queue.Queue[bytes | None] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def release(self, *frames: bytes) -> None:
        self.writes.put(b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in frames))

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        if self.tls is not None:
            conn = self.tls[0].wrap_socket(conn, server_side=True)
        with conn:
            while b"\r\n\r\n" not in conn.recv(65536):
                pass
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")  # fmt: skip
            with contextlib.suppress(queue.Empty, OSError):
                while (data := self.writes.get(timeout=HANG)) is not None:
                    conn.sendall(data)
                conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self.writes.put(None)
        self.thread.join(HANG)
        self.listener.close()


@pytest.fixture(params=["tcp", "tls"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    server = Server(_tls_contexts(tmp_path) if request.param == "tls" else None)
    yield server
    server.close()


@contextlib.contextmanager
def _open(server: Server) -> Iterator[httpx.Response]:
    verify = server.tls[1] if server.tls else True
    with httpx.Client(verify=verify) as client, client.stream("GET", server.url) as response:
        yield response


def test_sync_first_at_once_held_across_reads_then_finish(server: Server) -> None:
    server.release(event(chunk({"role": "assistant", "content": ""})))
    with _open(server) as response:
        runs = iter_windows(
            response.iter_bytes(), SSEDecoder(), response, Window(ENDLESS), json.loads
        )
        assert texts(next(runs)) == [""]
        for word in ("a", "b"):  # separate writes, separate reads
            server.release(event(chunk({"content": word})))
            time.sleep(0.02)
        server.release(event(chunk({"content": "c"}, "stop")))
        assert texts(next(runs)) == ["abc"]  # the finish flushed an endless window
        server.release(event(usage_chunk()), b"data: [DONE]\n\n")
        assert texts(next(runs)) == ["-"]
        assert next(runs, None) is None


def test_sync_a_held_event_leaves_at_its_deadline_without_more_data(server: Server) -> None:
    server.release(event(chunk({"content": "a"})), event(chunk({"content": "b"})))
    with _open(server) as response:
        runs = iter_windows(response.iter_bytes(), SSEDecoder(), response, Window(20), json.loads)
        assert texts(next(runs)) == ["a"]
        assert texts(next(runs)) == ["b"]  # "c" is withheld until "b" came out
        server.release(event(chunk({"content": "c"}, "stop")))
        assert texts(next(runs)) == ["c"]


def test_sync_bytes_h11_buffered_count_as_ready(server: Server) -> None:
    server.release(event(chunk({"content": "a"})))
    with _open(server) as response:
        raw = response.iter_bytes()
        assert _h11_connection(response) is not None, (
            "httpx/httpcore moved the h11 state under a sync response: update "
            "litellm_sagemaker_openai._window._h11_connection, or sync windows hold nothing"
        )
        ready = read_ready(response)
        assert next(raw)
        assert ready(time.monotonic()) is False  # nothing buffered, deadline now: no poll
        burst = [event(chunk({"content": w})) for w in "xyz"]
        server.release(*burst)  # one sendall: three frames in one read
        assert next(raw) == burst[0]
        assert ready(time.monotonic()) is True  # the two others wait in h11's buffer
        assert next(raw) == burst[1] and next(raw) == burst[2]
        assert ready(time.monotonic() + 0.02) is False  # nothing came within the deadline


def test_sync_an_error_mid_window_comes_after_what_was_held(server: Server) -> None:
    server.release(event(chunk({"content": "a"})), event(chunk({"content": "b"})))
    with _open(server) as response:
        runs = iter_windows(
            response.iter_bytes(), SSEDecoder(), response, Window(ENDLESS), json.loads
        )
        assert texts(next(runs)) == ["a"]
        server.release(b"data: not json\n\n")
        server.writes.put(None)
        assert texts(next(runs)) == ["b"]
        with pytest.raises(json.JSONDecodeError):
            next(runs)


def test_no_socket_means_nothing_held_across_reads() -> None:
    body = [event(chunk({"content": "a"})), event(chunk({"content": "b"})) + event(chunk({"content": "c"}))]  # fmt: skip
    response = httpx.Response(200, content=iter(body))
    runs = iter_windows(response.iter_bytes(), SSEDecoder(), response, Window(ENDLESS), json.loads)
    assert [texts(run) for run in runs] == [["a"], ["bc"]]
