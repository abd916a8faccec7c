"""No pooled connection is ever leaked: streams dropped unread, broken off, closed or cancelled.

The pool is cut to two connections, so a single leaked response shows: the next calls wait for
a connection that never comes back and fail with PoolTimeout. Every URL uses ``localhost``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import httpx
import litellm
import pytest
from faults.faults_calls import MESSAGES, STATIC_CREDS, TIMEOUT_S
from faults.faults_support import (
    Conn,
    Hit,
    async_pool_problems,
    chunk,
    event,
    loopback,
    sync_pool_problems,
)

from litellm_sagemaker_openai import _clients

POOL: Final = 2
ROUNDS: Final = POOL + 2  # more than the pool holds: a leak makes the last rounds wait
# Each test gives the pool a second to take its connection back: run alone (make test).
pytestmark = pytest.mark.serial
RETURNED_WITHIN_S: Final = 1.0
SLOW_HEADERS_S: Final = 0.5
CANCEL_AFTER_S: Final = 0.1


@pytest.fixture(autouse=True)
def small_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_clients, "LIMITS", httpx.Limits(max_connections=POOL))
    _clients.reset_clients()
    yield
    _clients.reset_clients()


async def _long_stream(hit: Hit, conn: Conn) -> None:
    """A 2-second answer (``max_tokens`` words): a caller that stops reading leaves it unfinished."""
    await conn.head(200, {"content-type": "text/event-stream"}, chunked=True)
    await conn.write(event(chunk({"role": "assistant", "content": ""})))
    for _ in range(int(hit.json.get("max_tokens", 200))):
        await conn.write(event(chunk({"content": "w "})))
        await asyncio.sleep(0.01)
    await conn.write(event(chunk({}, "stop")) + event("[DONE]"))
    await conn.end()


async def _slow_headers(hit: Hit, conn: Conn) -> None:
    await asyncio.sleep(SLOW_HEADERS_S)
    await _long_stream(hit, conn)


def _kwargs(url: str) -> dict[str, Any]:
    return {
        "model": "sagemaker_openai/ep",
        "messages": MESSAGES,
        "api_base": url.replace("127.0.0.1", "localhost"),
        "timeout": TIMEOUT_S,
        "num_retries": 0,
        "stream": True,
        **STATIC_CREDS,
    }


def _until_free(problems: Callable[[], list[str]]) -> None:
    deadline = time.monotonic() + RETURNED_WITHIN_S
    while problems() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert problems() == [], f"not given back within {RETURNED_WITHIN_S} s"


async def _auntil_free() -> None:
    deadline = time.monotonic() + RETURNED_WITHIN_S
    while async_pool_problems() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert async_pool_problems() == [], f"not given back within {RETURNED_WITHIN_S} s"


def _drop_in_a_cycle(stream: object) -> None:
    holder: list[object] = [stream]
    holder.append(holder)  # only the cycle collector can free this


# --- sync ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["drop", "close", "break", "cycle"])
def test_sync_stream_left_early_gives_its_connection_back(how: str) -> None:
    with loopback(_long_stream) as server:
        kwargs = _kwargs(server.url)
        for _ in range(ROUNDS):
            stream = litellm.completion(**kwargs)
            if how == "close":
                if not hasattr(stream, "close"):
                    pytest.skip("this LiteLLM's sync stream wrapper has no close() (before 1.108)")
                stream.close()
            elif how == "break":
                for _chunk in stream:
                    break
            elif how == "cycle":
                _drop_in_a_cycle(stream)
            del stream
            if how == "cycle":
                gc.collect()
            _until_free(sync_pool_problems)
        whole = list(litellm.completion(**kwargs, max_tokens=3))
    assert whole[-1].choices[0].finish_reason == "stop"


# --- async ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["drop", "aclose", "break", "cycle"])
def test_async_stream_left_early_gives_its_connection_back(how: str) -> None:
    async def main() -> list[Any]:
        with loopback(_long_stream) as server:
            kwargs = _kwargs(server.url)
            for _ in range(ROUNDS):
                stream = await litellm.acompletion(**kwargs)
                if how == "aclose":
                    await stream.aclose()
                elif how == "break":
                    async for _chunk in stream:
                        break
                elif how == "cycle":
                    _drop_in_a_cycle(stream)
                del stream
                if how == "cycle":
                    gc.collect()
                await _auntil_free()
            return [c async for c in await litellm.acompletion(**kwargs, max_tokens=3)]

    whole = asyncio.run(main())
    assert whole[-1].choices[0].finish_reason == "stop"


def test_async_call_cancelled_while_opening_leaves_no_connection_busy() -> None:
    """``asyncio.wait_for`` gives up while the route has not answered yet: the open is
    abandoned with the caller, instead of completing later into a response nobody closes."""

    async def main() -> list[Any]:
        with loopback(_slow_headers) as server:
            kwargs = _kwargs(server.url)
            for _ in range(ROUNDS):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(litellm.acompletion(**kwargs), CANCEL_AFTER_S)
            # Long enough for every abandoned open to have had its headers.
            await asyncio.sleep(SLOW_HEADERS_S + 0.3)
            await _auntil_free()
            return [c async for c in await litellm.acompletion(**kwargs, max_tokens=3)]

    whole = asyncio.run(main())
    assert whole[-1].choices[0].finish_reason == "stop"


def test_async_stream_dropped_on_a_closed_loop_is_harmless() -> None:
    """A stream that outlives its loop cannot be closed there; dropping it must not raise."""

    async def open_one(url: str) -> Any:
        return await litellm.acompletion(**_kwargs(url))

    with loopback(_long_stream) as server:
        stream = asyncio.run(open_one(server.url))
        del stream
        gc.collect()
