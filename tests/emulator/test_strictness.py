"""The emulator is at least as strict as the route: body size, exact paths, real sockets.

Token rules (host, path, action, version, signature) are in test_tokens.py; the documented
differences from the real route are in docs/local-testing/emulator.md.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from emulator.emulator_support import CREDS, bearer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._app import TOO_LARGE
from conformance._emulator._harness import serve_app
from conformance._wire._limits import SAGEMAKER_MAX_BODY

CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
INVOKE = "/endpoints/demo-endpoint/invocations"


def body_of(size: int) -> bytes:
    """A JSON body of exactly ``size`` bytes."""
    head, tail = b'{"messages":[{"role":"user","content":"', b'"}]}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.asyncio
@pytest.mark.parametrize("path", [CHAT, INVOKE])
async def test_a_body_over_6_mb_gets_the_routes_413(client: httpx.AsyncClient, path: str) -> None:
    over = await client.post(path, content=body_of(SAGEMAKER_MAX_BODY + 1), headers=bearer())
    assert over.status_code == 413
    assert over.json() == {"message": "HTTP content length exceeded 6291456 bytes."}
    assert over.json()["message"] == TOO_LARGE
    assert "x-amzn-errortype" not in over.headers  # botocore then names the error "413"
    at_limit = await client.post(path, content=body_of(SAGEMAKER_MAX_BODY), headers=bearer())
    assert at_limit.status_code == 200


@pytest.mark.asyncio
async def test_the_size_is_checked_before_the_token(client: httpx.AsyncClient) -> None:
    response = await client.post(CHAT, content=body_of(SAGEMAKER_MAX_BODY + 1))
    assert response.status_code == 413


def test_a_client_on_a_real_socket_reads_the_413(config: EmulatorConfig) -> None:
    # The client writes all 7 MB before it reads; the emulator must not close under it.
    with serve_app(create_emulator_app(config)) as url:
        response = httpx.post(url + CHAT, content=body_of(7_000_000), headers=bearer(), timeout=30)
    assert response.status_code == 413


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        CHAT + "/",
        "/endpoints/demo-endpoint/openai/v1/chat/completions//",
        "/endpoints/demo-endpoint/openai/v1/chat",
        "/endpoints/demo-endpoint/openai/v1/models",
        "/endpoints/demo-endpoint/",
        "/endpoints",
        "/openai/v1/chat/completions",
    ],
)
async def test_other_paths_get_the_404_never_a_redirect(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, json={}, headers=bearer())
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "location" not in response.headers


def test_a_caller_that_leaves_stops_the_wait_for_a_silent_container(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def silent(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(3600)
        return Response()

    container = Starlette(routes=[Route("/v1/chat/completions", silent, methods=["POST"])])
    caplog.set_level(logging.INFO, logger="conformance.emulator")
    with serve_app(container) as container_url:
        config = EmulatorConfig(credentials=(CREDS,), endpoints={"demo-endpoint": container_url})
        with serve_app(create_emulator_app(config)) as url:
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(url + CHAT, json={}, headers=bearer(), timeout=0.5)
            deadline = time.monotonic() + 20  # a hang guard, not a timing assertion
            while time.monotonic() < deadline and " 499 " not in caplog.text:
                time.sleep(0.05)
    # The emulator answered its caller's departure (499) instead of waiting 60 s for the
    # container; the server then stopped without cancelling a pending request.
    assert f"POST {CHAT} 499 " in caplog.text
    assert "timeout graceful shutdown exceeded" not in caplog.text
