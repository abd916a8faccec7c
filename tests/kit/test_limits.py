"""Per-request deadlines, the byte cap and the run's budget, against raw loopback servers.

The servers here misbehave below HTTP (headers a byte at a time, an upload never read), which
a framework cannot do; whole-catalogue runs against hostile servers are in test_bounds.py.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from conformance._engine._context import CheckContext
from conformance._engine._registry import Check, CheckFailure, Outcome, check
from conformance._engine._report import STOPPED_ANSWERING
from conformance._engine._runner import run_checks
from conformance._wire._client import new_client, perform
from conformance._wire._deadline import DeadlineTransport
from conformance._wire._exchange import Exchange
from conformance._wire._limits import (
    KEPT_WHEN_CUT,
    LARGE_ANSWER,
    Interrupted,
    Limits,
    process_age,
)
from conformance._wire._target import Target

HANG_GUARD = 10.0  # only catches a deadline that is ignored; never a timing claim
Handler = Callable[[socket.socket, threading.Event], None]
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


@contextmanager
def raw_server(handler: Handler) -> Iterator[str]:
    """A TCP server on 127.0.0.1 whose every connection is handled by ``handler``."""
    stop = threading.Event()

    class Handle(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError):  # the kit hung up, as it should
                handler(self.request, stop)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def read_request(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def drip_body(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    sock.sendall(HEAD)
    while not stop.wait(0.05):
        sock.sendall(chunk(b":"))


def drip_headers(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    for byte in HEAD:
        if stop.wait(0.05):
            return
        sock.sendall(bytes([byte]))


def never_read(sock: socket.socket, stop: threading.Event) -> None:
    stop.wait(HANG_GUARD * 2)


def flood(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    sock.sendall(HEAD)
    block = chunk(b"data: x\n\n" * 7000)
    while not stop.is_set():
        sock.sendall(block)


def gzipped(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    body = gzip.compress(b'{"ok": true}')
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def fetch(url: str, *, wait: float = 0.5, cap: int = 10_000_000, body: bytes = b"{}") -> Exchange:
    ex = Exchange("POST", url + "/v1/chat/completions", {}, body, started=time.perf_counter())
    with new_client(url) as client:
        perform(client, ex, until=time.monotonic() + wait, cap=cap)
    return ex


def test_a_dripping_body_is_cut_at_the_deadline() -> None:
    with raw_server(drip_body) as url:
        ex = fetch(url)
    assert ex.status == 200 and ex.cut == "the answer did not finish within 0.5 s"
    assert ex.chunks and ex.elapsed < HANG_GUARD
    assert "cut off: the answer did not finish" in ex.describe()
    assert ex.received()["cut"].startswith("the answer did not finish within 0.5 s (")


def test_headers_sent_a_byte_at_a_time_are_bounded_too() -> None:
    with raw_server(drip_headers) as url:
        ex = fetch(url)
    assert ex.status is None and ex.elapsed < HANG_GUARD
    assert ex.transport_error == "ReadTimeout: no answer within 0.5 s"


def test_an_upload_the_server_never_reads_is_bounded() -> None:
    with raw_server(never_read) as url:
        ex = fetch(url, body=b"x" * 8_000_000)
    assert ex.status is None and ex.elapsed < HANG_GUARD
    assert ex.transport_error is not None and ex.transport_error.startswith("WriteTimeout")


def test_the_byte_cap_cuts_and_keeps_only_a_head() -> None:
    with raw_server(flood) as url:
        ex = fetch(url, wait=5.0, cap=200_000)
    assert ex.cut == "the answer passed 200,000 bytes"
    assert ex.received_bytes > 200_000
    assert sum(len(c) for _, c in ex.chunks) == KEPT_WHEN_CUT


def test_a_compressed_answer_is_read_as_clients_read_it() -> None:
    with raw_server(gzipped) as url:
        ex = fetch(url)
    assert ex.complete and ex.json == {"ok": True}


def test_large_answers_stop_being_kept_past_the_run_total() -> None:
    ctx = CheckContext(Target.direct("http://127.0.0.1:9"))
    answers = []
    for _ in range(60):
        ex = Exchange("POST", "u", {}, b"")
        ex.chunks = [(0.0, b"x" * (LARGE_ANSWER + 1))]
        ctx._retain(ex)
        answers.append(ex)
    ctx.close()
    assert answers[0].cut is None
    assert answers[-1].cut == "the run already holds 48 MiB of answers"
    assert sum(len(c) for _, c in answers[-1].chunks) == KEPT_WHEN_CUT


def sender_registry(count: int) -> dict[str, Check]:
    registry: dict[str, Check] = {}
    for i in range(count):

        @check(f"demo.send{i}", "SHOULD", registry=registry)
        def send(ctx: CheckContext) -> str:
            """Sends one request of its own."""
            return ctx.chat(cache=False).describe()

    return registry


def test_the_budget_stops_the_run_and_names_the_last_check() -> None:
    with raw_server(drip_body) as url:
        ctx = CheckContext(Target.direct(url), limits=Limits(request_timeout=0.4, budget=1.0))
        report = run_checks(list(sender_registry(6).values()), ctx)
        ctx.close()
    assert report.stopped is not None and report.stopped.kind == "budget"
    verdicts = [(r.outcome, r.message) for r in report.results]
    ran = [v for v in verdicts if not v[1].startswith("not run")]
    assert ran and all(o is Outcome.PASSED for o, _ in ran)  # a cut by the budget is no verdict
    last = report.results[len(ran) - 1].id
    assert verdicts[len(ran) :] == [
        (Outcome.SKIPPED, f"not run: the 1 s budget ran out after {last}")
    ] * (6 - len(ran))
    assert report.exit_code == 3 and report.duration < HANG_GUARD


def test_a_silent_target_blocks_every_later_check() -> None:
    registry = sender_registry(3)

    @check("demo.must", "MUST", registry=registry)
    def must(ctx: CheckContext) -> None:
        """A MUST check that would fail if it ran."""
        raise CheckFailure("never reached")

    with raw_server(never_read) as url:
        ctx = CheckContext(Target.direct(url), limits=Limits(request_timeout=0.3, budget=30))
        report = run_checks(list(registry.values()), ctx)
        ctx.close()
    assert report.stopped is not None and report.stopped.kind == STOPPED_ANSWERING
    assert report.stopped.after == "demo.send0"
    assert [r.outcome for r in report.results] == [Outcome.PASSED] + [Outcome.SKIPPED] * 3
    blocked = "blocked: the target stopped answering after demo.send0: a minimal request then"
    assert all(r.message.startswith(blocked) for r in report.results[1:])
    assert report.requests == 2  # the check's request, then one probe
    assert report.exit_code == 3


def test_a_failed_prerequisite_blocks_its_dependents() -> None:
    registry: dict[str, Check] = {}

    @check("demo.base", "MUST", registry=registry)
    def base(ctx: CheckContext) -> None:
        """Fails."""
        raise CheckFailure("the schema is wrong")

    @check("demo.dep", "MUST", after="demo.base", registry=registry)
    def dep(ctx: CheckContext) -> None:
        """Would fail for the same reason."""
        raise CheckFailure("same reason")

    @check("demo.dep2", "SHOULD", after="demo.dep", registry=registry)
    def dep2(ctx: CheckContext) -> None:
        """Builds on dep."""
        raise CheckFailure("same reason again")

    ctx = CheckContext(Target.direct("http://127.0.0.1:9"))
    report = run_checks(list(registry.values()), ctx)
    ctx.close()
    assert [(r.outcome, r.message) for r in report.results] == [
        (Outcome.FAILED, "the schema is wrong"),
        (
            Outcome.SKIPPED,
            "blocked: demo.base failed; this check builds on it, so fix demo.base first",
        ),
        (
            Outcome.SKIPPED,
            "blocked: demo.dep was blocked; this check builds on it, so fix demo.dep first",
        ),
    ]


def test_an_interrupt_reports_what_ran() -> None:
    registry: dict[str, Check] = {}

    @check("demo.first", "MUST", registry=registry)
    def first(ctx: CheckContext) -> None:
        """Passes."""

    @check("demo.second", "MUST", registry=registry)
    def second(ctx: CheckContext) -> None:
        """Is interrupted."""
        raise Interrupted(2)

    @check("demo.third", "MUST", registry=registry)
    def third(ctx: CheckContext) -> None:
        """Never runs."""

    ctx = CheckContext(Target.direct("http://127.0.0.1:9"))
    report = run_checks(list(registry.values()), ctx)
    ctx.close()
    assert [r.message for r in report.results] == [
        "",
        "not run: interrupted by SIGINT after demo.first",
        "not run: interrupted by SIGINT after demo.first",
    ]
    assert report.exit_code == 130


def test_limits_are_validated_and_the_process_age_is_known() -> None:
    for bad in ({"request_timeout": 0}, {"budget": -1}, {"max_response_bytes": 10}):
        with pytest.raises(ValueError):
            Limits(**bad)  # type: ignore[arg-type]
    assert 0 < process_age() < 3600
    limits = Limits(budget=5).start(already=2.0)
    remaining = limits.remaining()
    assert remaining is not None and remaining <= 3.0


@pytest.mark.parametrize("proxy", ["HTTPS_PROXY", "https_proxy"])
def test_behind_a_proxy_the_client_is_httpx_own(
    monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    monkeypatch.setenv(proxy, "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with (
        new_client("https://runtime.sagemaker.us-east-1.amazonaws.com") as remote,
        new_client("http://127.0.0.1:8080") as local,
    ):
        assert isinstance(remote._transport, httpx.HTTPTransport)  # httpx honours the proxy
        assert isinstance(local._transport, DeadlineTransport)
