"""A first byte that takes seconds: async streams open concurrently, errors still reach the Router.

On SageMaker the response headers can take seconds (a long prefill, a queue in the container, a
scale-out). The plugin starts each open on the caller's loop and waits for it in LiteLLM's
executor only briefly (``_open.py``), so slow headers never hold one executor worker per stream;
errors that come quickly raise from ``acompletion`` itself, and later ones from the first read,
where LiteLLM 1.108+ Routers retry and fall back too. Every URL uses ``localhost``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import litellm
import pytest
from faults.faults_calls import MESSAGES, STATIC_CREDS
from faults.faults_support import Conn, Hit, LoopbackServer, chunk, event, loopback
from litellm import Router
from litellm.exceptions import MidStreamFallbackError

from litellm_sagemaker_openai import _open, _send

HEADERS_AFTER_S: Final = 1.5
STREAMS: Final = 24
# Past the brief wait (_open.SENT_WAIT_S after the request went out): the stream is handed over.
LATE_S: Final = 0.8
LITELLM: Final = tuple(int(p) for p in importlib.metadata.version("litellm").split(".")[:2])
# LiteLLM 1.108 reads a stream's first chunk inside the Router's retry loop; 1.106 does not.
ROUTER_READS_FIRST_CHUNK: Final = LITELLM >= (1, 108)


class InFlight:
    """Counts requests the server holds at once: all of them, if none waits for another."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def slow_stream(self, hit: Hit, conn: Conn) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(HEADERS_AFTER_S)
            await conn.sse(
                event(chunk({"role": "assistant", "content": "late "}))
                + event(chunk({"content": "answer"}))
                + event(chunk({}, "stop"))
                + event("[DONE]")
            )
        finally:
            self.now -= 1


async def _whole(hit: Hit, conn: Conn) -> None:
    await conn.sse(
        event(chunk({"role": "assistant", "content": "from backup"}))
        + event(chunk({}, "stop"))
        + event("[DONE]")
    )


def _kwargs(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "sagemaker_openai/ep",
        "messages": MESSAGES,
        "api_base": url.replace("127.0.0.1", "localhost"),
        "timeout": 30,
        "num_retries": 0,
        "stream": True,
        **STATIC_CREDS,
        **extra,
    }


async def _text(stream: Any) -> str:
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def test_slow_headers_hold_no_executor_worker_per_stream() -> None:
    """24 streams whose headers take 1.5 s, on an executor of 4 workers: the server holds all
    24 requests at once. Waiting in a worker for each stream's headers, it held 4 at a time."""
    counter = InFlight()

    async def main(url: str) -> list[str]:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(4))

        async def one() -> str:
            return await _text(await litellm.acompletion(**_kwargs(url)))

        return await asyncio.gather(*(one() for _ in range(STREAMS)))

    with loopback(counter.slow_stream) as server:
        texts = asyncio.run(main(server.url))
    assert texts == ["late answer"] * STREAMS
    assert counter.most == STREAMS, f"the server held at most {counter.most} requests at once"


@pytest.mark.parametrize("delay", [0.0, LATE_S], ids=["quick", "late"])
def test_an_error_raises_from_the_await_or_else_from_the_first_read(delay: float) -> None:
    async def refuse(hit: Hit, conn: Conn) -> None:
        await asyncio.sleep(delay)
        await conn.respond(429, {"message": "slow down"})

    async def main(url: str) -> tuple[str, BaseException]:
        try:
            stream = await litellm.acompletion(**_kwargs(url))
        except litellm.RateLimitError as exc:
            return "await", exc
        try:
            await _text(stream)
        except Exception as exc:
            return "first read", exc
        raise AssertionError("the 429 never raised")

    with loopback(refuse) as server:
        where, error = asyncio.run(main(server.url))
    if delay == 0.0:
        assert where == "await" and isinstance(error, litellm.RateLimitError)
        return
    # LiteLLM wraps what a stream raises before its first chunk; the Router unwraps it.
    assert where == "first read", "a late error was waited for in LiteLLM's executor"
    assert isinstance(error, MidStreamFallbackError) and error.is_pre_first_chunk
    assert isinstance(error.original_exception, litellm.RateLimitError)


def test_the_wait_is_bounded_even_before_the_request_goes_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token mint that takes a second (a slow STS) keeps the request from going out: the
    stream is still handed over after WAIT_MAX_S, and the mint finishes on the caller's loop."""
    monkeypatch.setattr(_open, "WAIT_MAX_S", 0.3)
    events: list[str] = []
    real = _send.TOKENS.aget

    async def slow_mint(*args: Any) -> str:
        await asyncio.sleep(1.0)
        events.append("minted")
        return await real(*args)

    monkeypatch.setattr(_send.TOKENS, "aget", slow_mint)

    async def main(url: str) -> str:
        stream = await litellm.acompletion(**_kwargs(url))
        events.append("returned")
        return await _text(stream)

    with loopback(_whole) as server:
        assert asyncio.run(main(server.url)) == "from backup"
    assert events == ["returned", "minted"]


def _router(primary: str, backup: str) -> Router:
    params = {**STATIC_CREDS, "timeout": 30}
    return Router(
        model_list=[
            {"model_name": "primary", "litellm_params": {"model": "sagemaker_openai/bad", "api_base": primary, **params}},
            {"model_name": "backup", "litellm_params": {"model": "sagemaker_openai/good", "api_base": backup, **params}},
        ],
        num_retries=1, retry_after=0, fallbacks=[{"primary": ["backup"]}],
    )  # fmt: skip


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("delay", [0.0, LATE_S], ids=["quick", "late"])
def test_router_retries_and_falls_back_from_quick_and_late_errors(
    status: int, delay: float, instant_backoff: None
) -> None:
    async def refuse(hit: Hit, conn: Conn) -> None:
        await asyncio.sleep(delay)
        await conn.respond(status, {"message": "try later"})

    with loopback(refuse) as bad, loopback(_whole) as good:
        router = _router(bad.url.replace("127.0.0.1", "localhost"), good.url)

        async def main() -> str:
            stream = await router.acompletion(model="primary", messages=MESSAGES, stream=True)  # type: ignore[call-overload]
            return await _text(stream)

        assert asyncio.run(main()) == "from backup"
    retried = delay == 0.0 or ROUTER_READS_FIRST_CHUNK
    assert len(bad.hits) == (2 if retried else 1), f"{len(bad.hits)} tries of the primary"


def test_router_falls_back_for_every_one_of_many_concurrent_streams(
    instant_backoff: None,
) -> None:
    """More streams than may wait in the executor: each one still fails over."""

    async def refuse(hit: Hit, conn: Conn) -> None:
        await conn.respond(429, {"message": "try later"})

    with loopback(refuse) as bad, loopback(_whole) as good:
        router = _router(bad.url.replace("127.0.0.1", "localhost"), good.url)

        async def main() -> list[str]:
            async def one() -> str:
                return await _text(
                    await router.acompletion(model="primary", messages=MESSAGES, stream=True)  # type: ignore[call-overload]
                )

            return await asyncio.gather(*(one() for _ in range(STREAMS)))

        assert asyncio.run(main()) == ["from backup"] * STREAMS
    tries = len(bad.hits)
    if ROUTER_READS_FIRST_CHUNK:
        assert tries == 2 * STREAMS
    else:  # the streams that were handed over before their 429 came are not retried
        assert STREAMS <= tries <= 2 * STREAMS


def test_a_stream_handed_over_can_be_read_by_another_task() -> None:
    """The open outlives the task that awaited ``acompletion``: it belongs to the stream now."""

    async def main(url: str) -> str:
        stream = await asyncio.create_task(litellm.acompletion(**_kwargs(url)))
        await asyncio.sleep(0.05)  # the opening task is done
        return await _text(stream)

    with loopback(InFlight().slow_stream) as server:
        assert asyncio.run(main(server.url)) == "late answer"


def _open_connections(server: LoopbackServer) -> int:
    return len(server._tasks)


def test_a_handed_over_stream_closed_unread_cancels_its_open() -> None:
    async def main(url: str, server: LoopbackServer) -> int:
        stream = await litellm.acompletion(**_kwargs(url))
        await stream.aclose()
        for _ in range(100):
            if _open_connections(server) == 0:
                break
            await asyncio.sleep(0.02)
        return _open_connections(server)

    with loopback(InFlight().slow_stream) as server:
        assert asyncio.run(main(server.url, server)) == 0
        assert len(server.hits) == 1
