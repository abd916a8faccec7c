"""Classic InvokeEndpoint on the emulator: SigV4 header signing, routing, 424s, event streams."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from emulator.emulator_support import CREDS, STUB_CHUNKS, bearer

from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app

BASE = "http://emulator"
INVOKE = "/endpoints/demo-endpoint/invocations"


def signed(
    path: str,
    body: dict[str, object],
    creds: TestCredentials = CREDS,
    region: str = "us-east-1",
    service: str = "sagemaker",
    headers: dict[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Sign a POST the way botocore clients (and LiteLLM's sagemaker_chat/) do."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=BASE + path,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    frozen = Credentials(creds.access_key_id, creds.secret_access_key).get_frozen_credentials()
    SigV4Auth(frozen, service, region).add_auth(request)
    return data, dict(request.headers)


def emulator(config: EmulatorConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(create_emulator_app(config)), base_url=BASE
    )


@pytest.mark.asyncio
async def test_a_sigv4_signed_invocation_is_forwarded(client: httpx.AsyncClient) -> None:
    data, headers = signed(INVOKE, {"hello": "world"})
    response = await client.post(INVOKE, content=data, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"tag": "stub", "path": "/invocations", "echo": {"hello": "world"}}


@pytest.mark.asyncio
async def test_the_component_header_routes_invocations(client: httpx.AsyncClient) -> None:
    path = "/endpoints/ic-endpoint/invocations"
    component = {"X-Amzn-SageMaker-Inference-Component": "ic-one"}
    data, headers = signed(path, {}, headers=component)
    response = await client.post(path, content=data, headers=headers)
    assert response.json()["tag"] == "component"
    data, headers = signed(path, {}, headers={"X-Amzn-SageMaker-Inference-Component": "ic-two"})
    missing = await client.post(path, content=data, headers=headers)
    assert missing.status_code == 404
    assert "'ic-two'" in missing.json()["message"]


WRONG_SECRET = TestCredentials(CREDS.access_key_id, "wrong/secret/key/0123456789abcdefghijklm")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"creds": WRONG_SECRET}, "signature"),
        ({"creds": TestCredentials("AKIANOTCONFIGURED001", "x" * 40)}, "unknown_key"),
        ({"region": "us-west-2"}, "region"),
        ({"service": "bedrock"}, "service"),
    ],
    ids=["wrong_secret", "unknown_key", "wrong_region", "wrong_service"],
)
async def test_bad_sigv4_signatures_are_refused(
    client: httpx.AsyncClient, kwargs: dict[str, object], rule: str
) -> None:
    data, headers = signed(INVOKE, {}, **kwargs)  # type: ignore[arg-type]
    response = await client.post(INVOKE, content=data, headers=headers)
    assert response.status_code == 403
    assert f"rule: {rule}" in response.json()["message"]


@pytest.mark.asyncio
async def test_a_tampered_body_breaks_the_signature(client: httpx.AsyncClient) -> None:
    _, headers = signed(INVOKE, {"amount": 1})
    response = await client.post(INVOKE, content=json.dumps({"amount": 1000}), headers=headers)
    assert response.status_code == 403
    assert "rule: signature" in response.json()["message"]


@pytest.mark.asyncio
async def test_an_old_signature_is_refused(config: EmulatorConfig) -> None:
    data, headers = signed(INVOKE, {})
    late = EmulatorConfig(
        credentials=config.credentials, endpoints=config.endpoints, clock=lambda: time.time() + 900
    )
    async with emulator(late) as client:
        response = await client.post(INVOKE, content=data, headers=headers)
    assert response.status_code == 403
    assert "rule: expired" in response.json()["message"]


@pytest.mark.asyncio
async def test_unsigned_invocations_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(INVOKE, json={})
    assert response.status_code == 401
    assert "rule: missing" in response.json()["message"]


@pytest.mark.asyncio
async def test_a_bearer_token_also_works_on_invocations(client: httpx.AsyncClient) -> None:
    response = await client.post(INVOKE, json={"a": 1}, headers=bearer())
    assert response.json()["echo"] == {"a": 1}


@pytest.mark.asyncio
async def test_container_errors_become_model_errors(client: httpx.AsyncClient) -> None:
    data, headers = signed(INVOKE, {"status": 400})
    response = await client.post(INVOKE, content=data, headers=headers)
    assert response.status_code == 424
    assert response.headers["x-amzn-errortype"] == "ModelError"
    body = response.json()
    assert body["OriginalStatusCode"] == 400
    assert json.loads(body["OriginalMessage"]) == {"error": {"message": "stub refused"}}


@pytest.mark.asyncio
async def test_response_stream_wraps_container_bytes_in_events(client: httpx.AsyncClient) -> None:
    path = "/endpoints/demo-endpoint/invocations-response-stream"
    data, headers = signed(path, {"stream": True, "repeat": 3})
    response = await client.post(path, content=data, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert response.headers["x-amzn-sagemaker-content-type"].startswith("text/event-stream")
    events = EventStreamBuffer()
    events.add_data(response.content)
    messages = list(events)
    assert {m.headers[":event-type"] for m in messages} == {"PayloadPart"}
    assert b"".join(m.payload for m in messages) == b"".join(STUB_CHUNKS) * 3
