"""Fault-injection fixtures: the provider registered, a fresh token cache, instant Router backoff."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import litellm
import litellm.utils
import pytest
from faults.faults_calls import STATIC_CREDS
from faults.faults_support import Conn, Hit, LoopbackServer, unused_port

import litellm_sagemaker_openai
from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig, create_reference_app
from conformance._wire._serve import serve_app

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()


@pytest.fixture(autouse=True)
def _tokens(fresh_tokens: None) -> Iterator[None]:
    yield


@pytest.fixture(params=[True, False], ids=["sync", "async"])
def sync(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(params=[False, True], ids=["plain", "stream"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Router's own backoff (0.5 s doubling, plus up to 0.75 s jitter) set to 0, so a retry
    costs only what the server asks for with Retry-After."""
    monkeypatch.setattr(litellm.utils, "INITIAL_RETRY_DELAY", 0.0)
    monkeypatch.setattr(litellm.utils, "JITTER", 0.0)


async def _unset(hit: Hit, conn: Conn) -> None:
    await conn.respond(500, {"message": "this test set no handler"})


@pytest.fixture(scope="module")
def _container() -> Iterator[LoopbackServer]:
    with LoopbackServer(_unset) as server:
        yield server


@pytest.fixture
def container(_container: LoopbackServer) -> Iterator[LoopbackServer]:
    """A loopback container behind the route (endpoint ``faulty``); set ``.handler``."""
    _container.hits.clear()
    yield _container
    _container.handler = _unset


# Endpoint name -> the reference container's fault switch it is served with.
REFERENCE_FAULTS = {"errorframe": "mid_stream_error", "jsonlines": "jsonlines"}


@pytest.fixture(scope="module")
def route(_container: LoopbackServer) -> Iterator[str]:
    """The SageMaker route emulator: ``faulty`` -> the loopback container, ``down`` -> a port
    with nothing listening, ``errorframe``/``jsonlines`` -> reference containers with that
    fault switch on, every other name -> the healthy reference container. It trusts
    STATIC_CREDS, so calls through it carry real, verified tokens."""
    creds = TestCredentials(
        STATIC_CREDS["aws_access_key_id"], STATIC_CREDS["aws_secret_access_key"]
    )
    with contextlib.ExitStack() as stack:
        endpoints = {
            name: stack.enter_context(
                serve_app(create_reference_app(ReferenceConfig(faults=frozenset({fault}))))
            )
            for name, fault in REFERENCE_FAULTS.items()
        }
        endpoints |= {"faulty": _container.url, "down": f"http://127.0.0.1:{unused_port()}"}
        config = EmulatorConfig(
            credentials=(creds,),
            endpoints=endpoints,
            reference=ReferenceConfig(),
            connect_timeout=1.0,
        )
        yield stack.enter_context(run_emulator(config))
