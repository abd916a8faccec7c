"""Fixtures for the emulator tests: stub containers on loopback and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from emulator.emulator_support import CREDS, OTHER, stub_container

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._harness import serve_app


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    with serve_app(stub_container("stub")) as url:
        yield url


@pytest.fixture(scope="module")
def other_stub_url() -> Iterator[str]:
    with serve_app(stub_container("component")) as url:
        yield url


@pytest.fixture
def config(stub_url: str, other_stub_url: str) -> EmulatorConfig:
    return EmulatorConfig(
        credentials=(CREDS, OTHER),
        endpoints={"demo-endpoint": stub_url},
        components={("ic-endpoint", "ic-one"): other_stub_url},
    )


@pytest_asyncio.fixture
async def client(config: EmulatorConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as c:
        yield c
