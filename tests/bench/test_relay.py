"""The latency relay of ``bench/_relay.py`` (the ``wan`` benchmark's distance), and the plugin through it.

No timing is asserted beyond lower bounds: the relay must hold bytes back at least as long as
it is told, in each direction, however slow the machine; and once warm the plugin must reuse
its TLS connection through it, which the relay sees as the number of connections it accepted.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench._relay import client_turns, relay_in_thread
from bench._servers import OPENAI_MODEL, PLUGIN_MODEL, Server, litellm_ready, server_process
from bench._tls import make_certificates

ONE_WAY_S = 0.05
MESSAGES = [{"role": "user", "content": "one two three four five"}]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


def _exchange(port: int, payloads: list[bytes]) -> tuple[bytes, float]:
    """Send each payload, read back as many bytes; what came back and how long it took."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        expected = sum(len(p) for p in payloads)
        start = time.monotonic()
        for payload in payloads:
            conn.sendall(payload)
        received = b""
        while len(received) < expected:
            data = conn.recv(65536)
            assert data, "the relay closed the connection early"
            received += data
        return received, time.monotonic() - start


def test_each_direction_is_delayed_at_least_one_way(echo_port: int) -> None:
    with relay_in_thread(echo_port, one_way_s=ONE_WAY_S, jitter_s=0.01, record=True) as relay:
        received, elapsed = _exchange(relay.port, [b"ping"])
    assert received == b"ping"
    # The TCP handshake's round trip, then the ping's: both ways delayed, each time.
    assert elapsed >= 4 * ONE_WAY_S
    assert {hop.direction for hop in relay.hops} == {"up", "down"}
    for hop in relay.hops:
        assert hop.written_at - hop.read_at >= ONE_WAY_S, hop
    assert relay.accepted == 1


def test_jitter_never_reorders_bytes(echo_port: int) -> None:
    payloads = [f"{n:04d},".encode() for n in range(200)]
    with relay_in_thread(echo_port, one_way_s=0.001, jitter_s=0.02) as relay:
        received, _ = _exchange(relay.port, payloads)
    assert received == b"".join(payloads)


def test_a_closed_connection_is_passed_on(echo_port: int) -> None:
    with (
        relay_in_thread(echo_port, one_way_s=0.001) as relay,
        socket.create_connection(("127.0.0.1", relay.port), timeout=10) as conn,
    ):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(100):  # ends: the echo server's close came back through
            data += chunk
    assert data == b"bye"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The bench's emulator + reference over HTTPS, and the path of the CA it chains to."""
    certs = make_certificates(tmp_path_factory.mktemp("tls"))
    with server_process(tls=(certs.cert, certs.key)) as server:
        yield server, certs.ca


def _relayed(server: Server, port: int) -> Server:
    return Server(f"https://localhost:{port}", server.creds, "")


async def _stream(model: str, kwargs: dict[str, Any], n: int = 1) -> list[str]:
    litellm = litellm_ready()
    out = []
    for _ in range(n):
        stream = await litellm.acompletion(
            model=model, messages=MESSAGES, stream=True, max_tokens=3, **kwargs
        )
        out.append("".join([c.choices[0].delta.content or "" async for c in stream]))
    return out


def test_plugin_reuses_its_tls_connection_through_the_relay(
    tls_server: tuple[Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm streams and calls through a 40 ms relay over TLS open no new connection.

    The CA is passed as users pass one to Python clients (SSL_CERT_FILE); each new loop has
    pools of its own, so a second ``asyncio.run`` opens one more connection, no more.
    """
    server, ca = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    litellm = litellm_ready()
    port = int(server.base.rsplit(":", 1)[1])
    with relay_in_thread(port, one_way_s=0.02) as relay:
        kwargs = _relayed(server, relay.port).plugin_kwargs()

        async def calls(streams: int) -> list[str]:
            out = await _stream(PLUGIN_MODEL, kwargs, streams)
            answer = await litellm.acompletion(
                model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=3, **kwargs
            )
            return [*out, answer.choices[0].message.content]

        first = asyncio.run(calls(4))
        assert relay.accepted == 1, "a warm call opened a new TLS connection"
        second = asyncio.run(calls(2))
        assert relay.accepted == 2
    assert all(text.strip() for text in first + second)


def test_a_cold_stream_waits_no_more_round_trips_than_openai(
    tls_server: tuple[Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted from the relay's record, not timed: the token is minted locally, so a cold
    stream is the TLS handshake and the request (two turns), as for LiteLLM's ``openai/``; a
    warm one is one turn."""
    server, ca = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    port = int(server.base.rsplit(":", 1)[1])
    # 100 ms each way: the client would have to stall that long to split a turn in two.
    with relay_in_thread(port, one_way_s=0.1, record=True) as relay:
        relayed = _relayed(server, relay.port)
        asyncio.run(_stream(OPENAI_MODEL, relayed.openai_kwargs()))
        openai_turns = client_turns(relay.hops, relay.accepted)
        asyncio.run(_stream(PLUGIN_MODEL, relayed.plugin_kwargs(), 2))
        plugin_turns = client_turns(relay.hops, relay.accepted)
    assert relay.accepted == 2
    assert openai_turns == 2, "TLS 1.3 handshake, then the request"
    assert plugin_turns == openai_turns + 1, "cold: as many turns as openai/; warm: one more"


def test_the_relay_process_counts_connections_and_turns(echo_port: int) -> None:
    """``python -m bench._relay`` as the ``wan`` benchmark drives it, over stdin and stdout."""
    from bench.wan import RelayProcess

    relay = RelayProcess(f"127.0.0.1:{echo_port}")
    try:
        assert relay.accepted() == 0
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as conn:
                for word in (b"one", b"two"):
                    conn.sendall(word)
                    assert conn.recv(10) == word
        assert relay.accepted() == 2
        assert relay.turns(0, 2) == 2.0  # each connection: two words, each after an answer
    finally:
        relay.close()
    assert relay.proc.returncode == 0
