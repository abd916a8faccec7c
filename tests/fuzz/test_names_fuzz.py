"""Model strings, endpoint and component names: one URL per valid name, no I/O for a bad one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import httpx
import litellm
import pytest
from fuzz.fuzz_support import (
    ALNUM,
    fuzz,
    is_valid_name,
    long_hyphenated_names,
    near_miss_names,
    no_sockets,
    valid_names,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route

import litellm_sagemaker_openai
from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app
from conformance._emulator._harness import serve_app
from conformance._reference import ReferenceConfig
from litellm_sagemaker_openai import ConfigurationError, ModelRef, parse_model, validate_name
from litellm_sagemaker_openai._routing import build_url
from litellm_sagemaker_openai._token import mint_token

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()

PREFIX = "sagemaker_openai/"
BASE = "http://sagemaker.invalid"
CREDS = TestCredentials("AKIAFUZZEXAMPLE00001", "fuzz/secret/key/0123456789abcdefghijkl")
AWS = {"aws_access_key_id": CREDS.access_key_id, "aws_secret_access_key": CREDS.secret_access_key,
       "aws_region_name": "us-east-1"}  # fmt: skip
MESSAGES = [{"role": "user", "content": "hi"}]
COMPLETION = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}  # fmt: skip
EMULATOR_ROUTES = create_emulator_app(EmulatorConfig(credentials=(CREDS,))).routes
MODES = ("sync", "sync_stream", "async", "async_stream")


def expected(model: str) -> tuple[str, str | None] | None:
    """The oracle: the (endpoint, component) a model string names, or None if it is invalid."""
    rest = model.removeprefix(PREFIX)
    parts = rest.split("/")
    if len(parts) > 2 or not all(is_valid_name(part) for part in parts):
        return None
    return parts[0], parts[1] if len(parts) == 2 else None


def route_path(endpoint: str, component: str | None) -> str:
    middle = f"/inference-components/{component}" if component else ""
    return f"/endpoints/{endpoint}{middle}/openai/v1/chat/completions"


def emulator_names(path: str) -> tuple[str, str | None]:
    """Which names the emulator's router extracts from ``path``; exactly one route must match."""
    scope = {"type": "http", "method": "POST", "path": path, "root_path": ""}
    found = [r.matches(scope)[1]["path_params"] for r in EMULATOR_ROUTES if r.matches(scope)[0] == Match.FULL]  # fmt: skip
    assert len(found) == 1, (path, found)
    params = found[0]
    return validate_name(params["endpoint"]), params.get("component")


HAND_PICKED = (
    "", "/", "ep/", "/ep", "ep//ic", "ep/ic/", "..", "ep/..", "../ep", "ep/%2F", "ep%2Fic",
    "ep/ic\n", "ep\n/ic", "-ep", "ep-/ic", "ep/-ic", " ep",
)  # fmt: skip
names = st.tuples(valid_names, st.none() | valid_names)
invalid_models = st.one_of(
    st.builds(  # one near-miss part among valid ones
        lambda good, bad, at: "/".join([*good[:at], bad, *good[at:]]),
        st.lists(valid_names, max_size=2),
        near_miss_names,
        st.integers(0, 2),
    ),
    st.lists(valid_names, min_size=3, max_size=5).map("/".join),  # 3+ parts
    st.sampled_from(HAND_PICKED),
)


@fuzz()
@given(names, st.booleans(), st.booleans())
def test_a_valid_model_maps_to_one_url_the_emulator_routes_back(
    pair: tuple[str, str | None], prefixed: bool, as_model_id: bool
) -> None:
    endpoint, component = pair
    model = (PREFIX if prefixed else "") + endpoint
    model_id = None
    if component is not None and as_model_id:
        model_id = component
    elif component is not None:
        model += "/" + component
    ref = parse_model(model, model_id)
    assert ref == ModelRef(endpoint, component)
    url = build_url(ref, "us-east-1", BASE)
    assert url == BASE + route_path(endpoint, component)
    parts = urlsplit(url)
    assert (parts.netloc, parts.query, parts.fragment) == ("sagemaker.invalid", "", "")
    assert emulator_names(parts.path) == (endpoint, component)


@fuzz()
@given(invalid_models, st.booleans())
def test_an_invalid_model_is_a_configuration_error(model: str, prefixed: bool) -> None:
    assume(expected(model) is None)
    with pytest.raises(ConfigurationError):
        parse_model((PREFIX if prefixed else "") + model)


@fuzz()
@given(names, near_miss_names)
def test_an_invalid_model_id_is_a_configuration_error(
    pair: tuple[str, str | None], bad: str
) -> None:
    with pytest.raises(ConfigurationError):
        parse_model(PREFIX + "/".join(p for p in pair if p), model_id=bad)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One loop for every async example: LiteLLM's logging worker dislikes a new loop per call."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def run(loop: asyncio.AbstractEventLoop, mode: str, **kwargs: Any) -> Any:
    stream = mode.endswith("stream")
    if mode.startswith("sync"):
        response = litellm.completion(messages=MESSAGES, stream=stream, num_retries=0, **kwargs)
        return list(response) if stream else response

    async def call() -> Any:
        response = await litellm.acompletion(
            messages=MESSAGES, stream=stream, num_retries=0, **kwargs
        )
        return [c async for c in response] if stream else response

    return loop.run_until_complete(call())


@fuzz(0.5)
@given(invalid_models, st.sampled_from(MODES))
def test_litellm_raises_the_configuration_error_before_any_socket(
    loop: asyncio.AbstractEventLoop, model: str, mode: str
) -> None:
    assume(expected(model) is None)
    with no_sockets() as attempts, pytest.raises(litellm.BadRequestError) as caught:
        run(loop, mode, model=PREFIX + model, api_base="http://127.0.0.1:9", **AWS)
    assert isinstance(caught.value, ConfigurationError), repr(caught.value)
    assert attempts == []


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[httpx.Request]]:
    """Swap the plugin's pooled clients for mock transports: requests are recorded, not sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if json.loads(request.content).get("stream"):
            body = f"data: {json.dumps({**COMPLETION, 'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': {'content': 'ok'}, 'finish_reason': 'stop'}]})}\n\ndata: [DONE]\n\n"
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                stream=httpx.ByteStream(body.encode()),
            )
        return httpx.Response(200, json=COMPLETION)

    transport, atransport = httpx.MockTransport(answer), httpx.MockTransport(answer)
    with (
        mock.patch("litellm_sagemaker_openai._send.sync_client", lambda *_: httpx.Client(transport=transport)),
        mock.patch("litellm_sagemaker_openai._send.async_client", lambda *_: httpx.AsyncClient(transport=atransport)),
    ):  # fmt: skip
        yield seen


@fuzz(0.2)
@given(names, st.sampled_from(MODES))
def test_litellm_sends_a_valid_model_to_exactly_its_url(
    loop: asyncio.AbstractEventLoop,
    recorded: list[httpx.Request],
    pair: tuple[str, str | None],
    mode: str,
) -> None:
    endpoint, component = pair
    model = PREFIX + "/".join(p for p in pair if p)
    recorded.clear()
    with no_sockets() as attempts:
        run(loop, mode, model=model, api_base=BASE, **AWS)
    assert attempts == []
    assert [str(r.url) for r in recorded] == [BASE + route_path(endpoint, component)]
    assert recorded[0].headers["authorization"].startswith("Bearer sagemaker-api-key-")
    assert emulator_names(recorded[0].url.path) == (endpoint, component)


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serve_app(Starlette(routes=[Route("/{rest:path}", _echo, methods=["POST"])])) as url:
        yield url


@fuzz(0.05)
@given(names)
def test_the_emulator_forwards_a_valid_name_to_its_own_container(
    echo_url: str, pair: tuple[str, str | None]
) -> None:
    endpoint, component = pair
    # Each name is mapped to its own container URL (a path prefix on one echo server), so the
    # echoed path proves which mapping the emulator chose.
    tag = f"/c/{endpoint}/{component}" if component else f"/e/{endpoint}"
    if component:
        config = EmulatorConfig(
            credentials=(CREDS,), components={(endpoint, component): echo_url + tag}
        )
    else:
        config = EmulatorConfig(credentials=(CREDS,), endpoints={endpoint: echo_url + tag})
    answer = asyncio.run(post(config, route_path(endpoint, component)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": tag + "/v1/chat/completions"}


async def post(config: EmulatorConfig, path: str) -> httpx.Response:
    from botocore.credentials import Credentials

    token = mint_token(Credentials(CREDS.access_key_id, CREDS.secret_access_key).get_frozen_credentials(), "us-east-1", 300)  # fmt: skip
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", timeout=10
    ) as client:
        return await client.post(path, json={}, headers={"Authorization": f"Bearer {token}"})


@fuzz(0.1)
@given(near_miss_names, st.booleans())
def test_the_emulator_refuses_a_near_miss_name_in_the_path(bad: str, as_component: bool) -> None:
    # With the reference behind every name, any name the emulator accepted would answer 200.
    config = EmulatorConfig(credentials=(CREDS,), reference=ReferenceConfig())
    name = quote(bad, safe="")
    if as_component:
        path = f"/endpoints/ep/inference-components/{name}/openai/v1/chat/completions"
    else:
        path = f"/endpoints/{name}/openai/v1/chat/completions"
    answer = asyncio.run(post(config, path))
    assert answer.status_code in (400, 404), (bad, answer.status_code, answer.text)


@fuzz(0.05)
@given(long_hyphenated_names)
def test_names_longer_than_63_characters_are_refused(name: str) -> None:
    # The pattern counts alphanumerics only: hyphens stretch a name past the API's 63.
    assert len(name) > 63 and name[0] in ALNUM and name[-1] in ALNUM
    with pytest.raises(ConfigurationError):
        parse_model(PREFIX + name)
