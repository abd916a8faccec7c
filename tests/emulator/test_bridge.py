"""The in-process streaming bridge, and broken streams, without the reference container."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from emulator.emulator_support import CREDS, bearer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance._emulator import EmulatorConfig
from conformance._emulator._bridge import StreamingASGITransport
from conformance._emulator._harness import run_emulator, serve_app


def paced_app(gap: float, fail_after: int | None = None, fail_before: bool = False) -> Starlette:
    async def stream(request: Request) -> Response:
        if fail_before:
            raise RuntimeError("broken before answering")
        body = await request.body()

        async def chunks() -> AsyncIterator[bytes]:
            for index in range(5):
                if fail_after is not None and index == fail_after:
                    raise RuntimeError("broken mid-stream")
                await asyncio.sleep(gap)
                yield body + str(index).encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    return Starlette(routes=[Route("/v1/chat/completions", stream, methods=["POST"])])


@pytest.mark.asyncio
async def test_the_bridge_hands_over_each_chunk_as_it_is_sent() -> None:
    transport = StreamingASGITransport(paced_app(0.03))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        arrivals: list[float] = []
        chunks: list[bytes] = []
        async with client.stream("POST", "/v1/chat/completions", content=b"x") as response:
            async for chunk in response.aiter_raw():
                arrivals.append(time.monotonic())
                chunks.append(chunk)
    assert chunks == [b"x0", b"x1", b"x2", b"x3", b"x4"]
    assert arrivals[-1] - arrivals[0] >= 4 * 0.03 * 0.8


@pytest.mark.asyncio
async def test_httpx_asgi_transport_would_have_buffered() -> None:
    """Why the bridge exists: the stock transport delivers everything at once."""
    transport = httpx.ASGITransport(paced_app(0.03))
    client = httpx.AsyncClient(transport=transport, base_url="http://app")
    async with client, client.stream("POST", "/v1/chat/completions", content=b"x") as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert chunks == [b"x0x1x2x3x4"]


@pytest.mark.asyncio
async def test_an_app_failing_before_answering_is_a_500() -> None:
    transport = StreamingASGITransport(paced_app(0, fail_before=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.post("/v1/chat/completions")
    assert response.status_code == 500


@pytest.mark.asyncio
async def test_an_app_failing_mid_stream_is_a_read_error() -> None:
    transport = StreamingASGITransport(paced_app(0, fail_after=2))
    client = httpx.AsyncClient(transport=transport, base_url="http://app")
    async with client, client.stream("POST", "/v1/chat/completions") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadError):
            await response.aread()


def test_a_container_breaking_mid_stream_truncates_the_relayed_body() -> None:
    with serve_app(paced_app(0, fail_after=2)) as container:
        config = EmulatorConfig(credentials=(CREDS,), endpoints={"demo-endpoint": container})
        with run_emulator(config) as base, httpx.Client(timeout=5) as client:
            url = f"{base}/endpoints/demo-endpoint/openai/v1/chat/completions"
            with client.stream("POST", url, content=b"x", headers=bearer()) as response:
                assert response.status_code == 200
                with pytest.raises(httpx.RemoteProtocolError):
                    response.read()


def test_the_emulator_never_imports_litellm() -> None:
    code = (
        "import sys, conformance._emulator, conformance._emulator.cli, "
        "conformance._emulator._harness;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'litellm');"
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
