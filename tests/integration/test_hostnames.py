"""Async streams to a *hostname*, as every real runtime URL is, on plain asyncio and on uvloop.

LiteLLM runs ``astreaming`` on the loop's default executor, and the plugin's eager open waits
there for the response headers. asyncio resolves hostnames on that same executor, so with
every worker waiting (6 on a 2-core machine) the lookups could never run: 6 concurrent cold
streams to ``localhost`` used to time out, while the same calls to 127.0.0.1 passed. Each
loop here gets the default executor of a 2-core machine, so the old deadlock shows on any CI.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

import litellm
import pytest
import uvloop

from conformance._emulator import EmulatorConfig
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

T = TypeVar("T")
SLOW_NAME: Final = "slow-dns.sagemaker-openai.test"
LOOKUP_DELAY_S: Final = 0.2
TWO_CORE_WORKERS: Final = 6  # min(32, os.cpu_count() + 4) on 2 cores
CALL_TIMEOUT_S: Final = 15.0  # what the old deadlock ran into
DEADLINE_S: Final = 120.0  # only catches a hang; a healthy burst of 200 takes a few seconds
LOOPS: Final[dict[str, Callable[[], asyncio.AbstractEventLoop]]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
MESSAGES: Final = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def fast_emulator(test_creds: Any) -> Iterator[int]:
    """Emulator + reference container answering at once; yields its port."""
    config = EmulatorConfig(
        region="us-east-1", credentials=(test_creds,), reference=ReferenceConfig()
    )
    with run_emulator(config) as url:
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture
def slow_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``SLOW_NAME`` resolves to 127.0.0.1 after LOOKUP_DELAY_S, like a cold resolver cache."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SLOW_NAME:
            lookups.append(host)
            time.sleep(LOOKUP_DELAY_S)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def run_on(kind: str, main: Callable[[], Awaitable[T]], workers: int = TWO_CORE_WORKERS) -> T:
    """Run ``main`` on a fresh loop of ``kind`` whose default executor has ``workers`` threads."""
    loop = LOOPS[kind]()
    executor = ThreadPoolExecutor(workers)
    loop.set_default_executor(executor)
    try:
        return loop.run_until_complete(asyncio.wait_for(main(), DEADLINE_S))
    finally:
        # A deadlocked worker never returns: do not wait for it, or the test would hang too.
        executor.shutdown(wait=False, cancel_futures=True)
        loop.close()


async def stream_once(kwargs: dict[str, Any]) -> str:
    response = await litellm.acompletion(
        model="sagemaker_openai/ep", messages=MESSAGES, stream=True, max_tokens=3, **kwargs
    )
    return "".join([c.choices[0].delta.content or "" async for c in response if c.choices])


async def burst(n: int, kwargs: dict[str, Any]) -> list[str | BaseException]:
    return await asyncio.gather(*(stream_once(kwargs) for _ in range(n)), return_exceptions=True)


def assert_all_streamed(results: list[str | BaseException], n: int) -> None:
    failures = [f"{type(r).__name__}: {str(r)[:200]}" for r in results if not isinstance(r, str)]
    assert not failures, f"{len(failures)} of {n} streams failed, e.g. {failures[:3]}"
    assert all(results), "a stream ended without any content"


@pytest.fixture
def kwargs_for(call_kwargs: dict[str, Any], fast_emulator: int) -> Callable[[str], dict[str, Any]]:
    def kwargs(host: str) -> dict[str, Any]:
        return {
            **call_kwargs,
            "api_base": f"http://{host}:{fast_emulator}",
            "timeout": CALL_TIMEOUT_S,
        }

    return kwargs


@pytest.mark.parametrize("n", [1, 6, 50, 200])
@pytest.mark.parametrize("host", ["localhost", SLOW_NAME])
@pytest.mark.parametrize("loop", list(LOOPS))
def test_concurrent_streams_to_a_hostname_cold_then_warm(
    kwargs_for: Callable[[str], dict[str, Any]], slow_dns: list[str], loop: str, host: str, n: int
) -> None:
    kwargs = kwargs_for(host)

    async def main() -> None:
        # Cold: a new loop has an empty connection pool, and the token cache was emptied.
        assert_all_streamed(await burst(n, kwargs), n)
        # Warm: pooled keep-alive connections, a cached token.
        assert_all_streamed(await burst(n, kwargs), n)

    run_on(loop, main)
    if host == SLOW_NAME:
        assert slow_dns, "the slow name was never looked up: the test would prove nothing"


@pytest.mark.parametrize("loop", list(LOOPS))
def test_a_single_worker_default_executor_still_streams(
    kwargs_for: Callable[[str], dict[str, Any]], slow_dns: list[str], loop: str
) -> None:
    """The strongest form of the rule: the open needs no default-executor worker at all, so
    even a loop with one (busy waiting for that open) gets every stream through."""
    kwargs = kwargs_for(SLOW_NAME)
    results = run_on(loop, lambda: burst(3, kwargs), workers=1)
    assert_all_streamed(results, 3)


@pytest.mark.parametrize("loop", list(LOOPS))
def test_router_streams_to_a_hostname_without_timeouts(
    kwargs_for: Callable[[str], dict[str, Any]], slow_dns: list[str], loop: str
) -> None:
    params = {"model": "sagemaker_openai/ep", **kwargs_for(SLOW_NAME)}
    router = litellm.Router(
        model_list=[{"model_name": "smo", "litellm_params": params}], num_retries=2
    )

    async def one() -> str:
        response = await router.acompletion(
            model="smo", messages=MESSAGES, stream=True, max_tokens=3
        )
        return "".join([c.choices[0].delta.content or "" async for c in response if c.choices])

    async def main() -> list[str | BaseException]:
        return await asyncio.gather(*(one() for _ in range(12)), return_exceptions=True)

    started = time.perf_counter()
    results = run_on(loop, main)
    assert_all_streamed(results, 12)
    # Before the fix: 36 s and 6 timeouts. A generous bound that only a stall can break.
    assert time.perf_counter() - started < CALL_TIMEOUT_S
