"""A client that leaves a stream early through the proxy frees the proxy's upstream connection.

The upstream is a raw loopback server that streams for 10 s and notes when the connection
it is writing to goes away. The proxy must give it up within a second of the client leaving,
not when the answer would have ended, nor at the next garbage collection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Final

import httpx
import pytest
from faults.faults_calls import STATIC_CREDS
from faults.faults_support import Conn, Hit, LoopbackServer, chunk, event
from integration.proxy_support import MASTER_KEY, run_proxy

pytestmark = pytest.mark.proxy
GIVEN_UP_WITHIN_S: Final = 1.0
CHUNKS: Final = 1000  # 10 s of answer at 10 ms a chunk


class Upstream:
    """Streams slowly, and records when each connection stops being writable."""

    def __init__(self) -> None:
        self.gone: list[float] = []

    async def __call__(self, hit: Hit, conn: Conn) -> None:
        await conn.head(200, {"content-type": "text/event-stream"}, chunked=True)
        try:
            await conn.write(event(chunk({"role": "assistant", "content": ""})))
            for _ in range(CHUNKS):
                await conn.write(event(chunk({"content": "w "})))
                await asyncio.sleep(0.01)
        except (ConnectionError, OSError):
            self.gone.append(time.monotonic())
            raise


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, str]]:
    handler = Upstream()
    with LoopbackServer(handler) as server:
        yield handler, server.url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def proxy(
    upstream: tuple[Upstream, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    params = {"model": "sagemaker_openai/ep", "api_base": upstream[1], **STATIC_CREDS}
    config = {
        "model_list": [{"model_name": "slow", "litellm_params": params}],
        "litellm_settings": {"custom_provider_map": [
            {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
    }  # fmt: skip
    with run_proxy(config, tmp_path_factory.mktemp("proxy-disconnect")) as base:
        yield base


def test_client_leaving_mid_stream_frees_the_upstream_connection(
    proxy: str, upstream: tuple[Upstream, str]
) -> None:
    handler = upstream[0]
    body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{proxy}/v1/chat/completions", json=body, headers=headers) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if '"w "' in line:
                    break
        left = time.monotonic()  # the response and its connection are closed here
    deadline = left + GIVEN_UP_WITHIN_S
    while not handler.gone and time.monotonic() < deadline + 5:
        time.sleep(0.01)
    assert handler.gone, "the proxy was still reading the upstream stream 6 s after the client left"
    assert handler.gone[0] - left <= GIVEN_UP_WITHIN_S, (
        f"upstream given up {handler.gone[0] - left:.2f} s after the client left"
    )
