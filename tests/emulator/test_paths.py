"""Routing reads the path as sent: an encoded slash stays inside its name (issue 19 §1).

``/endpoints/ep1%2Finference-components%2Fic1/...`` names the endpoint
``ep1/inference-components/ic1``, which SageMaker's naming rule refuses (400 ValidationError);
it must never reach component ``ic1`` of ``ep1``. The same holds for every spelling of the
slash and on a real socket, where uvicorn hands the raw path over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from emulator.emulator_support import CREDS, bearer, mint, stub_container

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._harness import serve_app

OPENAI = "/openai/v1/chat/completions"


@pytest.fixture(scope="module")
def urls() -> Iterator[tuple[str, str]]:
    with (
        serve_app(stub_container("endpoint")) as endpoint,
        serve_app(stub_container("component")) as component,
    ):
        yield endpoint, component


@pytest.fixture(scope="module")
def config(urls: tuple[str, str]) -> EmulatorConfig:
    endpoint, component = urls
    return EmulatorConfig(
        credentials=(CREDS,),
        endpoints={"ep1": endpoint},
        components={("ep1", "ic1"): component, ("ic-endpoint", "ic-one"): component},
    )


@pytest_asyncio.fixture
async def client(config: EmulatorConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as c:
        yield c


# (path, the name the 400 quotes): one segment of the path that decodes to an invalid name.
ENCODED_SLASHES = [
    (f"/endpoints/ep1%2Finference-components%2Fic1{OPENAI}", "'ep1/inference-components/ic1'"),
    (f"/endpoints/ep1%2finference-components%2fic1{OPENAI}", "'ep1/inference-components/ic1'"),
    (f"/endpoints/ep1%252Finference-components%252Fic1{OPENAI}", "'ep1%2Finference-components%2Fic1'"),
    (f"/endpoints/ep1%252finference-components%252fic1{OPENAI}", "'ep1%2finference-components%2fic1'"),
    (f"/endpoints/ep1/inference-components/ic1%2F..%2F..%2Fother{OPENAI}", "'ic1/../../other'"),
    (f"/endpoints/ep1%2F..%2Fep1{OPENAI}", "'ep1/../ep1'"),
    ("/endpoints/ep1%2Finvocations%2F/invocations", "'ep1/invocations/'"),
]  # fmt: skip
# Paths whose slashes, as sent, match no route: 404 before anything else.
NO_ROUTE = [
    f"/endpoints/ep1%2Finference-components/ic1{OPENAI}",
    f"/endpoints/ep1/inference-components%2Fic1{OPENAI}",
    "/endpoints/ep1/inference-components/ic1/openai%2Fv1%2Fchat%2Fcompletions",
    "/endpoints/ep1%2Finvocations",
    "/endpoints/ep1/invocations%2F",
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "name"), ENCODED_SLASHES)
async def test_an_encoded_slash_makes_an_invalid_name(
    client: httpx.AsyncClient, path: str, name: str
) -> None:
    response = await client.post(path, json={"tag": True}, headers=bearer())
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-errortype"] == "ValidationError"
    assert name in response.json()["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize("path", NO_ROUTE)
async def test_an_encoded_slash_between_route_parts_matches_no_route(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, json={"tag": True}, headers=bearer())
    assert response.status_code == 404, response.text
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "tag"),
    [
        (f"/endpoints/ep1/inference-components/ic1{OPENAI}", "component"),
        (f"/endpoints/ep1{OPENAI}", "endpoint"),
        (f"/endpoints/%65p1{OPENAI}", "endpoint"),  # %65 is "e": a name may be escaped
        (f"/endpoints/ic%2Dendpoint/inference-components/ic%2Done{OPENAI}", "component"),
    ],
)
async def test_plain_and_escaped_names_still_route(
    client: httpx.AsyncClient, path: str, tag: str
) -> None:
    response = await client.post(path, json={"tag": True}, headers=bearer())
    assert response.status_code == 200, response.text
    assert response.json() == {"tag": tag}


@pytest.mark.parametrize("path", [p for p, _ in ENCODED_SLASHES] + NO_ROUTE)
def test_a_real_socket_never_reaches_a_container_through_an_encoded_slash(
    config: EmulatorConfig, path: str
) -> None:
    # uvicorn decodes the path and passes the raw one beside it; the route must use the raw one.
    with serve_app(create_emulator_app(config)) as base:
        response = httpx.post(
            base + path, json={"tag": True}, headers=bearer(mint()), timeout=10, trust_env=False
        )
    assert response.status_code in (400, 404), response.text
    assert "tag" not in response.json()
