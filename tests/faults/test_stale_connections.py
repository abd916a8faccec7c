"""A pooled keep-alive connection the server already dropped is resent once, on a fresh one.

Servers close idle keep-alive connections on their own schedule; a request that goes out on
one just as it closes fails before any response byte (``Server disconnected`` or a reset).
That request never reached the application, so the plugin sends it again, once, on a new
connection (the OpenAI SDK and botocore do the same). A connection that was *not* reused, or
a response that had started, is never resent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import litellm
import pytest
from faults.faults_calls import MESSAGES, STATIC_CREDS, TIMEOUT_S
from faults.faults_support import WHOLE_STREAM, Conn, Hit, LoopbackServer, completion, loopback

from litellm_sagemaker_openai import _clients

Handler = Callable[[Hit, Conn], Any]


def _serve_then(fault: str) -> Handler:
    """Answer the first request of every connection; meet the next one with ``fault``."""
    served: set[int] = set()

    async def handler(hit: Hit, conn: Conn) -> None:
        if hit.connection not in served:
            served.add(hit.connection)
            if hit.stream:
                await conn.sse(WHOLE_STREAM)
            else:
                await conn.respond(200, completion())
        elif fault == "close":
            conn.cut()
        elif fault == "reset":
            conn.reset()
        elif fault == "partial":  # the response has started: a status line, then nothing
            await conn.write(b"HTTP/1.1 200 OK\r\n", raw=True)
            conn.cut()

    return handler


def _kwargs(server: LoopbackServer, stream: bool) -> dict[str, Any]:
    return {
        "model": "sagemaker_openai/ep",
        "messages": MESSAGES,
        "api_base": server.url.replace("127.0.0.1", "localhost"),
        "timeout": TIMEOUT_S,
        "num_retries": 0,
        "stream": stream,
        **STATIC_CREDS,
    }


def _calls(server: LoopbackServer, *, sync: bool, stream: bool, batches: list[int]) -> list[Any]:
    """Run batches of concurrent calls (one loop for all, so they share the async pool)."""
    kwargs = _kwargs(server, stream)

    def read(result: Any) -> Any:
        return list(result) if stream else result

    async def aread(result: Any) -> Any:
        return [c async for c in result] if stream else result

    async def one() -> Any:
        try:
            return await aread(await litellm.acompletion(**kwargs))
        except Exception as exc:
            return exc

    async def run() -> list[Any]:
        out: list[Any] = []
        for size in batches:
            out += await asyncio.gather(*(one() for _ in range(size)))
        return out

    if not sync:
        return asyncio.run(run())
    out: list[Any] = []
    for size in batches:
        assert size == 1, "sync batches are sequential"
        try:
            out.append(read(litellm.completion(**kwargs)))
        except Exception as exc:
            out.append(exc)
    return out


@pytest.fixture(autouse=True)
def _fresh_pools() -> Any:
    _clients.reset_clients()
    yield
    _clients.reset_clients()


@pytest.mark.parametrize("fault", ["close", "reset"])
def test_a_stale_keep_alive_is_resent_on_a_fresh_connection(
    sync: bool, stream: bool, fault: str
) -> None:
    with loopback(_serve_then(fault)) as server:
        results = _calls(server, sync=sync, stream=stream, batches=[1, 1])
    assert not [r for r in results if isinstance(r, Exception)], results
    # The second call went out on connection 0, which the server dropped; the resend is the
    # first request of connection 1.
    assert [(h.connection, h.index) for h in server.hits] == [(0, 0), (0, 1), (1, 2)]
    assert server.hits[1].body == server.hits[2].body


def test_the_resend_skips_every_other_stale_idle_connection(stream: bool) -> None:
    """Two idle connections both dropped by the server: the resend must open a third, not take
    the other idle one (which would fail the same way)."""
    with loopback(_serve_then("close")) as server:
        results = _calls(server, sync=False, stream=stream, batches=[2, 1])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(server.hits) == 4
    assert server.hits[-1].connection == 2, [(h.connection, h.index) for h in server.hits]


def test_a_response_that_started_is_never_resent(sync: bool, stream: bool) -> None:
    with loopback(_serve_then("partial")) as server:
        results = _calls(server, sync=sync, stream=stream, batches=[1, 1])
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], litellm.APIConnectionError), results[1]
    assert len(server.hits) == 2


def test_a_fresh_connection_that_fails_is_not_resent(sync: bool, stream: bool) -> None:
    async def cut_everything(hit: Hit, conn: Conn) -> None:
        conn.cut()

    with loopback(cut_everything) as server:
        results = _calls(server, sync=sync, stream=stream, batches=[1])
    assert isinstance(results[0], litellm.APIConnectionError), results[0]
    assert len(server.hits) == 1


RESENDS_AT_MOST: Final = 1


def test_a_second_stale_failure_is_not_resent_again(sync: bool) -> None:
    """Only one resend per call: a server that drops every reused *and* every new connection
    after its first answer gets one resend, then the error."""
    answered: set[int] = set()

    async def first_answer_only(hit: Hit, conn: Conn) -> None:
        if not answered:
            answered.add(hit.connection)
            await conn.respond(200, completion())
        else:
            conn.cut()

    with loopback(first_answer_only) as server:
        results = _calls(server, sync=sync, stream=False, batches=[1, 1])
    assert isinstance(results[1], litellm.APIConnectionError), results[1]
    assert len(server.hits) == 2 + RESENDS_AT_MOST
