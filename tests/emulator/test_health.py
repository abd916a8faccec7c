"""SageMaker's health check: a container whose GET /ping fails gets no traffic (_health.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from emulator.emulator_support import CREDS, mint
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._harness import serve_app

CHAT = "/endpoints/ep/openai/v1/chat/completions"
BODY = {"model": "", "messages": [{"role": "user", "content": "hi"}]}


class Container:
    """A real container whose /ping is 404, hangs, or answers 200, as the test sets it."""

    def __init__(self) -> None:
        self.ping = "missing"
        self.pings = 0
        self.chats = 0

    def app(self) -> Starlette:
        async def ping(request: Request) -> Response:
            self.pings += 1
            if self.ping == "slow":
                await asyncio.sleep(2)  # past the 0.3 s deadline: the gate gives up first
            return Response(status_code=404 if self.ping == "missing" else 200)

        async def chat(request: Request) -> Response:
            self.chats += 1
            return JSONResponse({"object": "chat.completion", "choices": []})

        return Starlette(
            routes=[
                Route("/ping", ping, methods=["GET"]),
                Route("/v1/chat/completions", chat, methods=["POST"]),
                Route("/invocations", chat, methods=["POST"]),
            ]
        )


@pytest.fixture
def container() -> Iterator[tuple[Container, str]]:
    box = Container()
    with serve_app(box.app()) as url:
        yield box, url


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def route(container: tuple[Container, str]) -> AsyncIterator[Routed]:
    box, url = container
    clock = Clock()
    config = EmulatorConfig(
        credentials=(CREDS,), endpoints={"ep": url}, health_check=True, ping_timeout=0.3,
        clock=clock,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    headers = {"authorization": f"Bearer {mint(at=clock.now)}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=headers
    ) as client:
        yield client, box, clock


Routed = tuple[httpx.AsyncClient, Container, Clock]


def assert_not_in_service(response: httpx.Response, why: str) -> None:
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationError"
    message = response.json()["message"]
    assert message.startswith("Endpoint ep of account 123456789012 is not in service: ")
    assert "did not pass the ping health check" in message
    assert why in message and "--no-health-check" in message


@pytest.mark.asyncio
async def test_a_container_without_ping_gets_no_traffic(route: Routed) -> None:
    client, box, _ = route
    assert_not_in_service(await client.post(CHAT, json=BODY), "GET /ping answered HTTP 404")
    signed = await client.post("/endpoints/ep/invocations", json=BODY)
    assert_not_in_service(signed, "HTTP 404")
    assert box.chats == 0
    assert box.pings == 1, "a failed check is remembered for ping_recheck_s"


@pytest.mark.asyncio
async def test_a_slow_ping_fails_at_the_deadline(route: Routed) -> None:
    client, box, _ = route
    box.ping = "slow"
    assert_not_in_service(await client.post(CHAT, json=BODY), "did not answer within 0.3 s")
    assert box.chats == 0


@pytest.mark.asyncio
async def test_a_container_that_recovers_gets_traffic_after_the_recheck(route: Routed) -> None:
    client, box, clock = route
    assert_not_in_service(await client.post(CHAT, json=BODY), "HTTP 404")
    box.ping = "ok"
    assert_not_in_service(await client.post(CHAT, json=BODY), "HTTP 404")  # cached
    clock.now += 5
    assert (await client.post(CHAT, json=BODY)).status_code == 200
    assert (await client.post(CHAT, json=BODY)).status_code == 200
    assert (box.pings, box.chats) == (2, 2), "a healthy container is not pinged per request"


@pytest.mark.asyncio
async def test_the_check_can_be_switched_off(container: tuple[Container, str]) -> None:
    box, url = container
    config = EmulatorConfig(credentials=(CREDS,), endpoints={"ep": url})
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        answer = await client.post(CHAT, json=BODY, headers={"authorization": f"Bearer {mint()}"})
    assert answer.status_code == 200
    assert box.pings == 0
