"""The plugin through real corporate proxies, started here: tinyproxy and mitmproxy.

The route is the emulator over HTTPS (a certificate of the tests' CA) in front of a paced
container that records when it sends each chunk. tinyproxy relays CONNECT tunnels; mitmdump
opens the TLS, re-signs it with its own CA (which the plugin is given) and streams bodies.
Streams must stay incremental through each: the chunks' arrival times must spread like their
sending times, which a buffering proxy would collapse into one burst.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import litellm
import pytest
from processes import stop
from provider_support import chunk, completion_json
from proxy_servers import (
    MITMDUMP_MISSING,
    TINYPROXY_MISSING,
    mitmdump_binary,
    start_mitmdump,
    start_tinyproxy,
    tinyproxy_binary,
    tls_front,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from tls_support import LocalCA, make_ca

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._wire._serve import TLSFiles, serve_app
from litellm_sagemaker_openai import _network
from litellm_sagemaker_openai._errors import SageMakerCertificateError

CHUNKS: Final = 6
GAP_S: Final = 0.15
MESSAGES: Final = [{"role": "user", "content": "hello there"}]
PROXY_USER: Final = "corp-user"
PROXY_PASSWORD: Final = "pr0xy-Pa55word-EXAMPLE"
needs_tinyproxy = pytest.mark.skipif(tinyproxy_binary() is None, reason=TINYPROXY_MISSING)
needs_mitmdump = pytest.mark.skipif(mitmdump_binary() is None, reason=MITMDUMP_MISSING)
pytestmark = pytest.mark.slow


class PacedContainer:
    """A container that streams CHUNKS words GAP_S apart and notes when each one left."""

    def __init__(self) -> None:
        self.sent: list[float] = []

    async def invocations(self, request: Request) -> Response:
        if not (await request.json()).get("stream"):
            return JSONResponse(completion_json("a whole answer"))
        self.sent.clear()

        async def events() -> AsyncIterator[bytes]:
            for index in range(CHUNKS):
                if index:
                    await asyncio.sleep(GAP_S)
                self.sent.append(time.monotonic())
                yield f"data: {json.dumps(chunk({'content': f'w{index} '}))}\n\n".encode()
            yield f"data: {json.dumps(chunk(finish='stop'))}\n\ndata: [DONE]\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.invocations, methods=["POST"])])


@pytest.fixture(scope="module")
def container() -> Iterator[tuple[PacedContainer, str]]:
    paced = PacedContainer()
    with serve_app(paced.app()) as url:
        yield paced, url


@pytest.fixture(scope="module")
def route(
    container: tuple[PacedContainer, str], server_tls: TLSFiles, test_creds: TestCredentials
) -> Iterator[str]:
    config = EmulatorConfig(
        region="us-east-1", credentials=(test_creds,), endpoints={"paced": container[1]}
    )
    with run_emulator(config, tls=server_tls) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (*_network.PROXY_ENV, "AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_VERIFY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    _network._resolve.cache_clear()
    yield
    _network._resolve.cache_clear()


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    if tinyproxy_binary() is None:
        pytest.skip(TINYPROXY_MISSING)
    proc, port = start_tinyproxy(tmp_path)
    try:
        yield port, tmp_path / "tinyproxy.log"
    finally:
        stop(proc)


@pytest.fixture
def mitmdump(tmp_path: Path, local_ca: LocalCA) -> Iterator[tuple[int, Path]]:
    if mitmdump_binary() is None:
        pytest.skip(MITMDUMP_MISSING)
    proc, port, ca = start_mitmdump(tmp_path, local_ca.ca_file)
    try:
        yield port, ca
    finally:
        stop(proc)


def _kwargs(route: str, creds: TestCredentials, **extra: Any) -> dict[str, Any]:
    return {
        "model": "sagemaker_openai/paced",
        "messages": MESSAGES,
        "api_base": route,
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
        "aws_region_name": "us-east-1",
        "timeout": 60,
        **extra,
    }


def _arrivals(kwargs: dict[str, Any], mode: str) -> list[float]:
    """When each content chunk reached the caller (monotonic, as the container's clock)."""
    arrived: list[float] = []
    if mode == "sync":
        for part in litellm.completion(**kwargs, stream=True):
            if part.choices and part.choices[0].delta.content:
                arrived.append(time.monotonic())
        return arrived

    async def run() -> None:
        async for part in await litellm.acompletion(**kwargs, stream=True):
            if part.choices and part.choices[0].delta.content:
                arrived.append(time.monotonic())

    asyncio.run(run())
    return arrived


def _assert_incremental(sent: list[float], arrived: list[float]) -> None:
    """Arrivals spread like sends (a buffering proxy delivers them in one burst at the end),
    and most chunks reached the caller before the container sent the next one."""
    assert len(sent) == len(arrived) == CHUNKS, (sent, arrived)
    sent_spread, arrived_spread = sent[-1] - sent[0], arrived[-1] - arrived[0]
    assert arrived_spread > 0.5 * sent_spread, (sent_spread, arrived_spread)
    early = sum(arrived[i] < sent[i + 1] for i in range(CHUNKS - 1))
    assert early >= (CHUNKS - 1) // 2, (sent, arrived)


@needs_tinyproxy
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streams_stay_incremental_through_a_connect_proxy(
    mode: str,
    tinyproxy: tuple[int, Path],
    route: str,
    container: tuple[PacedContainer, str],
    test_creds: TestCredentials,
    local_ca: LocalCA,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    port, log = tinyproxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    kwargs = _kwargs(route, test_creds, ssl_verify=str(local_ca.ca_file))
    _assert_incremental(container[0].sent, _arrivals(kwargs, mode))
    assert f"CONNECT 127.0.0.1:{route.rsplit(':', 1)[1]}" in log.read_text()


@needs_mitmdump
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_streams_stay_incremental_through_a_tls_inspecting_proxy(
    mode: str,
    mitmdump: tuple[int, Path],
    route: str,
    container: tuple[PacedContainer, str],
    test_creds: TestCredentials,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    port, mitm_ca = mitmdump
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    kwargs = _kwargs(route, test_creds)
    # Without the proxy's CA the re-signed certificate does not verify: proof it inspects TLS.
    with pytest.raises(SageMakerCertificateError, match=r"TLS certificate of 127\.0\.0\.1"):
        litellm.completion(**kwargs)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(mitm_ca))
    _assert_incremental(container[0].sent, _arrivals(kwargs, mode))


@needs_tinyproxy
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_https_proxy_is_verified_with_the_profiles_proxy_ca_bundle(
    mode: str,
    tinyproxy: tuple[int, Path],
    route: str,
    container: tuple[PacedContainer, str],
    test_creds: TestCredentials,
    local_ca: LocalCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    """A proxy reached over TLS, with a certificate of its own CA (not the route's)."""
    proxy_ca = make_ca(tmp_path / "proxy-ca", "the proxy's own CA")
    with tls_front(tinyproxy[0], proxy_ca.issue(stem="proxy")) as port:
        monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{port}")
        kwargs = _kwargs(route, test_creds, ssl_verify=str(local_ca.ca_file))
        with pytest.raises(SageMakerCertificateError, match="proxy_ca_bundle"):
            litellm.completion(**kwargs)  # the proxy checked against the route's CA: refused
        config = tmp_path / "config"
        config.write_text(f"[default]\nproxy_ca_bundle = {proxy_ca.ca_file}\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        _assert_incremental(container[0].sent, _arrivals(kwargs, mode))


def test_no_proxy_goes_direct(
    route: str, test_creds: TestCredentials, local_ca: LocalCA, monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:  # fmt: skip
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens on port 9
    kwargs = _kwargs(route, test_creds, ssl_verify=str(local_ca.ca_file))
    with pytest.raises(litellm.APIConnectionError):
        litellm.completion(**kwargs)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert litellm.completion(**kwargs).choices[0].message.content


@needs_tinyproxy
def test_proxy_credentials_never_show(
    tmp_path: Path,
    route: str,
    test_creds: TestCredentials,
    local_ca: LocalCA,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
    fresh_tokens: None,
) -> None:
    proc, port = start_tinyproxy(tmp_path, auth=(PROXY_USER, PROXY_PASSWORD))
    try:
        kwargs = _kwargs(route, test_creds, ssl_verify=str(local_ca.ca_file))
        monkeypatch.setenv("HTTPS_PROXY", f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}")
        assert litellm.completion(**kwargs).choices[0].message.content
        _network._resolve.cache_clear()
        wrong = f"http://{PROXY_USER}:wrong-{PROXY_PASSWORD}@127.0.0.1:{port}"
        monkeypatch.setenv("HTTPS_PROXY", wrong)
        with pytest.raises(litellm.APIConnectionError) as info:
            litellm.completion(**kwargs)
        network = _network.resolve_network(None, True, None)
    finally:
        stop(proc)
    assert "ProxyError: 401 Unauthorized" in str(info.value)  # tinyproxy's refusal is reported
    assert "check its address, user and password" in str(info.value)  # with how to fix it ...
    shown = [str(info.value), repr(info.value), repr(network), debug_logs.text]
    shown += [record.getMessage() for record in debug_logs.records]
    assert any(logging.getLevelName(r.levelno) == "DEBUG" for r in debug_logs.records)
    for text in shown:  # ... but never the password
        assert PROXY_PASSWORD not in text
