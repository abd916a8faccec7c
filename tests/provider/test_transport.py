"""The network backends under the plugin's httpx clients (``_transport.py``), unit by unit.

End-to-end behaviour (hostnames under load, stale keep-alives) is in tests/integration and
tests/faults; these pin the pieces: where lookups run, that concurrent lookups share one call,
and that every pool of a client (proxy mounts too) gets the backends.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx
import pytest

from litellm_sagemaker_openai import _transport
from litellm_sagemaker_openai._transport import install, resolve


@pytest.fixture
def slow_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``socket.getaddrinfo`` that takes 0.2 s and records the thread it ran on."""
    threads: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        time.sleep(0.2)
        return real("127.0.0.1" if host == "slow.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return threads


def test_concurrent_lookups_of_one_name_share_one_call(slow_lookups: list[str]) -> None:
    async def main() -> list[list[str]]:
        return await asyncio.gather(*(resolve("slow.test", 443) for _ in range(20)))

    results = asyncio.run(main())
    assert results == [["127.0.0.1"]] * 20
    assert len(slow_lookups) == 1
    assert slow_lookups[0].startswith("sagemaker-openai-dns"), slow_lookups


def test_lookups_never_use_the_loops_default_executor(slow_lookups: list[str]) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        # A default executor with no free worker: a lookup queued there would never run.
        blocker = threading.Event()
        loop.set_default_executor(ThreadPoolExecutor(1))
        held = loop.run_in_executor(None, blocker.wait)
        try:
            return await asyncio.wait_for(resolve("slow.test", 80), 5)
        finally:
            blocker.set()
            await held

    assert asyncio.run(main()) == ["127.0.0.1"]


def test_a_lookup_slower_than_the_connect_timeout_is_a_connect_timeout(
    slow_lookups: list[str],
) -> None:
    with pytest.raises(httpcore.ConnectTimeout, match=r"slow\.test"):
        asyncio.run(resolve("slow.test", 80, timeout=0.05))


def test_an_unknown_name_is_a_connect_error() -> None:
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        asyncio.run(resolve("no-such-host.invalid", 443))


def test_the_next_caller_looks_up_again() -> None:
    """Nothing is cached past the lookup: DNS changes and TTLs stay the resolver's business."""
    asyncio.run(resolve("localhost", 80))
    assert ("localhost", 80) not in _transport._inflight


@pytest.mark.parametrize("kind", [httpx.Client, httpx.AsyncClient])
def test_every_pool_of_a_client_is_wrapped_proxies_included(
    kind: type[httpx.Client] | type[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    client = kind()
    install(client)
    install(client)  # idempotent: no backend wrapped twice
    pools = [t._pool for t in [client._transport, *client._mounts.values()] if t is not None]  # type: ignore[attr-defined]
    assert len(pools) >= 2, "the proxy mount is missing: the test would prove nothing"
    wrapper = _transport._AsyncBackend if kind is httpx.AsyncClient else _transport._Backend
    for pool in pools:
        assert type(pool._network_backend) is wrapper
        assert not isinstance(pool._network_backend._inner, wrapper)
