"""Transport faults: refused, unresolvable, slow, stalled and cut connections."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import litellm
import pytest
from faults.faults_calls import SHORT_TIMEOUT_S, assert_failed, call
from faults.faults_support import (
    PARTIAL,
    WHOLE_STREAM,
    Conn,
    Hit,
    LoopbackServer,
    async_pool_problems,
    completion,
    loopback,
    sync_pool_problems,
    unused_port,
)

from litellm_sagemaker_openai import _clients
from litellm_sagemaker_openai._errors import SageMakerStreamError

SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}
PARTIAL_JSON = (
    b'{"id": "chatcmpl-fault", "object": "chat.completion", "choices": [{"index": 0, "mess'
)


def test_connection_refused(sync: bool, stream: bool) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    error = assert_failed(call(url, sync=sync, stream=stream), litellm.APIConnectionError)
    assert "ConnectError" in str(error) and url in str(error)


def test_container_refusing_behind_the_route_is_a_bad_gateway(
    route: str, sync: bool, stream: bool
) -> None:
    # The route itself answers (502, its connect timeout is 1 s here): the plugin maps it.
    out = call(route, sync=sync, stream=stream, model="sagemaker_openai/down")
    error = assert_failed(out, litellm.BadGatewayError)
    assert "unreachable" in str(error)


def test_dns_failure_fails_at_once_and_offline(
    monkeypatch: pytest.MonkeyPatch, sync: bool, stream: bool
) -> None:
    # `.invalid` never resolves (RFC 2606), but a resolver may still ask a DNS server about it:
    # answer for it here, so nothing leaves the machine, and prove the lookup was attempted.
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)  # anyio passes bytes
        if name.rstrip(".").endswith(".invalid"):
            looked_up.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    out = call("http://does-not-exist.invalid:1", sync=sync, stream=stream)
    error = assert_failed(out, litellm.APIConnectionError, timeout=0.0)
    assert looked_up == ["does-not-exist.invalid"]
    assert "ConnectError" in str(error)


async def _hang(hit: Hit, conn: Conn) -> None:
    await conn.hang()


def test_slow_first_byte_times_out(sync: bool, stream: bool) -> None:
    with loopback(_hang) as server:
        out = call(server.url, sync=sync, stream=stream, timeout=SHORT_TIMEOUT_S)
    error = assert_failed(out, litellm.Timeout, timeout=SHORT_TIMEOUT_S, at_least=0.9)
    assert "ReadTimeout" in str(error)
    assert len(server.hits) == 1  # raised, not retried behind the caller's back


async def _stall_after_partial(hit: Hit, conn: Conn) -> None:
    if hit.stream:
        await conn.head(200, SSE, chunked=True)
        await conn.write(PARTIAL)
    else:
        await conn.head(200, JSON, length=4096)
        await conn.write(PARTIAL_JSON)
    await conn.hang()


def test_stall_after_the_first_chunk_times_out(sync: bool, stream: bool) -> None:
    # The read timeout applies between chunks too. LiteLLM raises Timeout (status 408) as is
    # rather than inside MidStreamFallbackError: it never wraps a 4xx other than 429.
    with loopback(_stall_after_partial) as server:
        out = call(server.url, sync=sync, stream=stream, timeout=SHORT_TIMEOUT_S)
    assert_failed(out, litellm.Timeout, timeout=SHORT_TIMEOUT_S, at_least=0.9)
    if stream:
        assert out.text == "partial "  # what arrived is delivered, and never marked finished


def _cut(mode: str) -> Any:
    async def handler(hit: Hit, conn: Conn) -> None:
        if hit.stream:
            await conn.head(200, SSE, chunked=mode != "eof")
            await conn.write(PARTIAL)
        elif mode == "eof":
            await conn.head(200, JSON)  # no length: the body ends when the socket closes
            await conn.write(PARTIAL_JSON)
        else:
            await conn.head(200, JSON, length=4096)
            await conn.write(PARTIAL_JSON)
        await asyncio.sleep(0.05)  # let the client read what was sent before the cut
        conn.reset() if mode == "reset" else conn.cut()

    return handler


# What each cut looks like to the client, and what the caller must get:
# - "chunked": FIN inside a chunked (or Content-Length) body -> httpx RemoteProtocolError;
# - "reset": TCP RST mid-body -> httpx ReadError;
# - "eof": FIN where the body is delimited by the close itself, so HTTP sees a clean end and
#   only the plugin's completeness check (no [DONE], no finish_reason; or a non-JSON body)
#   can tell the answer is partial.
CUTS = {
    "chunked": litellm.APIConnectionError,
    "reset": litellm.APIConnectionError,
    "eof": SageMakerStreamError,
}


@pytest.mark.parametrize("mode", list(CUTS))
def test_connection_cut_mid_answer_is_an_error(mode: str, sync: bool, stream: bool) -> None:
    with loopback(_cut(mode)) as server:
        out = call(server.url, sync=sync, stream=stream)
    assert_failed(out, CUTS[mode], wrapped=stream)
    if stream:
        assert out.text == "partial "
    assert len(server.hits) == 1


def test_connection_cut_behind_the_route_is_an_error(
    route: str, container: LoopbackServer, sync: bool, stream: bool
) -> None:
    # The container breaks its chunked body; the route relays the break as a truncated body.
    container.handler = _cut("chunked")
    out = call(route, sync=sync, stream=stream, model="sagemaker_openai/faulty")
    assert_failed(out, litellm.APIConnectionError, wrapped=stream)
    assert len(container.hits) == 1


async def _whole(hit: Hit, conn: Conn) -> None:
    if hit.stream:
        await conn.sse(WHOLE_STREAM)
    else:
        await conn.respond(200, completion())


def test_healthy_answer_leaves_only_idle_connections(sync: bool, stream: bool) -> None:
    # The control for every fault above: same server, no fault, and the pool check passes.
    _clients.reset_clients()
    with loopback(_whole) as server:
        out = call(server.url, sync=sync, stream=stream)
    assert out.error is None and out.pool_problems == []
    if stream:
        assert out.finish_reasons == ["stop"] and out.text == "partial answer"
    else:
        assert out.message.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    "stream",
    [False, True],
    ids=["plain", "stream"],
)
def test_healthy_answer_keeps_its_connection_for_reuse(sync: bool, stream: bool) -> None:
    _clients.reset_clients()
    with loopback(_whole) as server:
        outs = [call(server.url, sync=sync, stream=stream) for _ in range(2)]
    assert [o.error for o in outs] == [None, None]
    assert [o.pool_size for o in outs] == [1, 1]
    if sync:  # each async call runs on a fresh loop, hence with a fresh pool
        assert server.hits[0].connection == server.hits[1].connection


def test_pool_check_sees_a_leaked_connection() -> None:
    # The pool check can fail: a response left open holds its connection ACTIVE.
    with loopback(_stall_after_partial) as server:
        client = _clients.sync_client()
        response = client.send(
            client.build_request("POST", server.url, json={"stream": True}), stream=True
        )
        leaked = sync_pool_problems()
        response.close()
        assert sync_pool_problems() == []
    assert any("ACTIVE" in problem for problem in leaked)
    assert any("request(s) still assigned" in problem for problem in leaked)


def test_async_pool_check_sees_a_leaked_connection() -> None:
    async def run() -> tuple[list[str], list[str]]:
        with loopback(_stall_after_partial) as server:
            client = _clients.async_client()
            request = client.build_request("POST", server.url, json={"stream": True})
            response = await client.send(request, stream=True)
            leaked = async_pool_problems()
            await response.aclose()
            return leaked, async_pool_problems()

    leaked, after = asyncio.run(run())
    assert any("ACTIVE" in problem for problem in leaked)
    assert after == []
