"""Routing, forwarding, refusals and access logs, with the emulator in-process."""

from __future__ import annotations

import base64
import logging
import socket
import time

import httpx
import pytest
from emulator.emulator_support import CREDS, STUB_CHUNKS, bearer, mint

from conformance._emulator import EmulatorConfig, create_emulator_app

CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
COMPONENT_CHAT = "/endpoints/ic-endpoint/inference-components/ic-one/openai/v1/chat/completions"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emulator(config: EmulatorConfig) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    return httpx.AsyncClient(transport=transport, base_url="http://emulator")


@pytest.mark.asyncio
async def test_endpoint_route_relays_the_container_bytes(client: httpx.AsyncClient) -> None:
    response = await client.post(CHAT, json={"model": "", "messages": []}, headers=bearer())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b"".join(STUB_CHUNKS)
    assert response.headers["x-amzn-invoked-production-variant"] == "AllTraffic"


@pytest.mark.asyncio
async def test_component_route_reaches_the_component_container(client: httpx.AsyncClient) -> None:
    response = await client.post(COMPONENT_CHAT, json={"tag": True}, headers=bearer())
    assert response.status_code == 200
    assert response.json() == {"tag": "component"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("/endpoints/nope/openai/v1/chat/completions", 404, ["'nope'"]),
        (
            "/endpoints/demo-endpoint/inference-components/nope/openai/v1/chat/completions",
            404,
            ["'nope'", "'demo-endpoint'"],
        ),
        ("/endpoints/ic-endpoint/openai/v1/chat/completions", 400, ["'ic-endpoint'"]),
        ("/endpoints/-bad-/openai/v1/chat/completions", 400, ["'-bad-'"]),
    ],
    ids=["unknown_endpoint", "unknown_component", "component_required", "invalid_name"],
)
async def test_unroutable_names_are_refused_by_name(
    client: httpx.AsyncClient, path: str, status: int, names: list[str]
) -> None:
    response = await client.post(path, json={}, headers=bearer())
    assert response.status_code == status
    assert list(response.json()) == ["message"]
    for name in names:
        assert name in response.json()["message"]


@pytest.mark.asyncio
async def test_authentication_comes_before_routing(client: httpx.AsyncClient) -> None:
    response = await client.post("/endpoints/nope/openai/v1/chat/completions", json={})
    assert response.status_code == 401
    assert "rule: missing" in response.json()["message"]


@pytest.mark.asyncio
async def test_unreachable_container_fails_fast_and_says_so(stub_url: str) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    config = EmulatorConfig(credentials=(CREDS,), endpoints={"dead": dead}, connect_timeout=2)
    started = time.monotonic()
    async with emulator(config) as client:
        response = await client.post(
            "/endpoints/dead/openai/v1/chat/completions", json={}, headers=bearer()
        )
    assert time.monotonic() - started < 5
    assert response.status_code == 502
    assert dead in response.json()["message"]
    assert "unreachable" in response.json()["message"]


@pytest.mark.asyncio
async def test_only_sagemaker_headers_reach_the_container(client: httpx.AsyncClient) -> None:
    headers = {
        **bearer(),
        "Accept": "text/event-stream",
        "X-Amzn-SageMaker-Custom-Attributes": "a=b",
        "X-Amzn-SageMaker-Session-Id": "s-1",
        "X-Api-Key": "container-key",
        "OpenAI-Organization": "org",
        "Cookie": "c=1",
    }
    response = await client.post(CHAT, json={"echo_headers": True}, headers=headers)
    seen = response.json()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["x-amzn-sagemaker-custom-attributes"] == "a=b"
    assert seen["headers"]["x-amzn-sagemaker-session-id"] == "s-1"
    assert seen["headers"]["accept"] == "text/event-stream"
    assert seen["headers"]["content-type"] == "application/json"
    for dropped in ("authorization", "x-api-key", "openai-organization", "cookie"):
        assert dropped not in seen["headers"]


@pytest.mark.asyncio
async def test_container_errors_pass_through_unchanged(client: httpx.AsyncClient) -> None:
    response = await client.post(CHAT, json={"status": 400}, headers=bearer())
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "stub refused"}}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("token", "status", "rule"),
    [
        (mint(region="us-west-2"), 403, "region"),
        ("sagemaker-api-key-%%%", 401, "malformed"),
        ("sk-nope", 401, "prefix"),
    ],
    ids=["wrong_region", "malformed", "prefix"],
)
async def test_refusals_are_aws_shaped(
    client: httpx.AsyncClient, token: str, status: int, rule: str
) -> None:
    response = await client.post(CHAT, json={}, headers=bearer(token))
    assert response.status_code == status
    assert list(response.json()) == ["message"]
    assert f"rule: {rule}" in response.json()["message"]
    assert response.headers["x-amzn-errortype"]
    assert token not in response.text


@pytest.mark.asyncio
async def test_sigv4_header_auth_is_not_a_bearer_token(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=0"}
    response = await client.post(CHAT, json={}, headers=headers)
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_the_clock_is_injectable(config: EmulatorConfig) -> None:
    token = mint(expires=60)
    later = EmulatorConfig(
        credentials=config.credentials, endpoints=config.endpoints, clock=lambda: time.time() + 120
    )
    async with emulator(later) as client:
        response = await client.post(CHAT, json={}, headers=bearer(token))
    assert response.status_code == 403
    assert "rule: expired" in response.json()["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/v1/chat/completions", 404), ("GET", CHAT, 405)],
    ids=["unknown_path", "wrong_method"],
)
async def test_unknown_routes_answer_json(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, headers=bearer())
    assert response.status_code == status
    assert "/endpoints/<ep>" in response.json()["message"]


@pytest.mark.asyncio
async def test_access_log_has_request_facts_and_no_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, botocore and httpx included
    token = mint()
    await client.post(CHAT, json={}, headers=bearer(token))
    await client.post(CHAT, json={}, headers=bearer(mint(region="eu-west-1")))
    records = [r for r in caplog.records if r.name == "conformance.emulator"]
    messages = [r.getMessage() for r in records]
    assert any(m.startswith(f"POST {CHAT} 200 ") and m.endswith("ms") for m in messages)
    assert any(m.startswith(f"POST {CHAT} 403 ") for m in messages)
    decoded = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    signature = decoded.split("X-Amz-Signature=")[1].split("&")[0]
    for secret in (token, signature, CREDS.secret_access_key, "Authorization", "Bearer"):
        assert secret not in caplog.text
