"""Status faults: 5xx and 429 retried by the Router, Retry-After, and SageMaker's 424 ModelError."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from faults.faults_calls import (
    SLACK_S,
    STATIC_CREDS,
    TIMEOUT_S,
    Outcome,
    assert_failed,
    call,
    run_call,
)
from faults.faults_support import WHOLE_STREAM, Conn, Hit, LoopbackServer, completion, loopback
from litellm import Router

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig


def _flaky(
    status: int,
    failures: int,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    """Answer ``status`` to the first ``failures`` requests, then a whole answer."""

    async def handler(hit: Hit, conn: Conn) -> None:
        if hit.index < failures:
            await conn.respond(status, body or {"message": "try again later"}, headers)
        elif hit.stream:
            await conn.sse(WHOLE_STREAM)
        else:
            await conn.respond(200, completion("whole answer"))

    return handler


def _router(api_base: str, model: str, num_retries: int) -> Router:
    deployment = {"model": model, "api_base": api_base, **STATIC_CREDS}
    return Router(
        model_list=[{"model_name": "m", "litellm_params": deployment}],
        num_retries=num_retries,
        retry_after=0,
    )


def _via_router(router: Router, *, sync: bool, stream: bool) -> Outcome:
    return run_call(
        router.completion,
        router.acompletion,
        sync=sync,
        stream=stream,
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        timeout=TIMEOUT_S,
    )


def _assert_whole(out: Outcome, stream: bool) -> None:
    assert out.error is None, f"{type(out.error).__name__}: {out.error}"
    assert out.pool_problems == []
    if stream:
        assert out.text == "partial answer" and out.finish_reasons == ["stop"]
    else:
        assert out.message.choices[0].message.content == "whole answer"


STATUS_CLASSES = {500: litellm.InternalServerError, 503: litellm.ServiceUnavailableError}


@pytest.mark.parametrize("status", list(STATUS_CLASSES))
def test_server_error_is_typed_and_not_retried_by_the_plugin(
    route: str, container: LoopbackServer, status: int, sync: bool, stream: bool
) -> None:
    container.handler = _flaky(status, failures=1)
    out = call(route, sync=sync, stream=stream, model="sagemaker_openai/faulty")
    assert_failed(out, STATUS_CLASSES[status])
    assert len(container.hits) == 1


@pytest.mark.usefixtures("instant_backoff")
@pytest.mark.parametrize("status", list(STATUS_CLASSES))
def test_server_error_is_retried_by_the_router_then_succeeds(
    route: str, container: LoopbackServer, status: int, sync: bool, stream: bool
) -> None:
    # Through the route with real tokens: the container fails twice, the third try answers.
    container.handler = _flaky(status, failures=2)
    out = _via_router(_router(route, "sagemaker_openai/faulty", 2), sync=sync, stream=stream)
    _assert_whole(out, stream)
    assert len(container.hits) == 3
    assert out.elapsed < 3 * TIMEOUT_S + SLACK_S


@pytest.mark.usefixtures("instant_backoff")
def test_router_gives_up_after_num_retries(
    route: str, container: LoopbackServer, sync: bool, stream: bool
) -> None:
    container.handler = _flaky(503, failures=10)
    out = _via_router(_router(route, "sagemaker_openai/faulty", 1), sync=sync, stream=stream)
    assert_failed(out, litellm.ServiceUnavailableError, timeout=2 * TIMEOUT_S)
    assert len(container.hits) == 2


THROTTLED = {
    "429": (429, {"retry-after": "1"}, {"message": "Rate exceeded"}),
    # AWS also throttles with a 400 whose error type says so.
    "400-throttling": (
        400,
        {"retry-after": "1", "x-amzn-errortype": "ThrottlingException"},
        {"message": "Rate exceeded"},
    ),
}


@pytest.mark.parametrize("case", list(THROTTLED))
def test_rate_limit_carries_retry_after(case: str, sync: bool, stream: bool) -> None:
    status, headers, body = THROTTLED[case]
    with loopback(_flaky(status, 1, headers, body)) as server:
        out = call(server.url, sync=sync, stream=stream)
    error = assert_failed(out, litellm.RateLimitError)
    assert error.response.headers["retry-after"] == "1"  # type: ignore[attr-defined]
    assert "Rate exceeded" in str(error)
    assert len(server.hits) == 1


@pytest.mark.usefixtures("instant_backoff")
@pytest.mark.parametrize("retry_after", [0, 1])
def test_rate_limit_is_retried_by_the_router_after_retry_after(
    retry_after: int, sync: bool, stream: bool
) -> None:
    # The Router reads Retry-After from the plugin's exception (its own backoff is zeroed
    # here), so the retry comes no sooner than the server asked, and then succeeds.
    headers = {"retry-after": str(retry_after)}
    with loopback(_flaky(429, 1, headers, {"message": "Rate exceeded"})) as server:
        out = _via_router(_router(server.url, "sagemaker_openai/ep", 2), sync=sync, stream=stream)
    _assert_whole(out, stream)
    assert len(server.hits) == 2
    assert retry_after <= out.elapsed < retry_after + TIMEOUT_S + SLACK_S


def _throttling_route(rate: float, seed: int) -> Any:
    """The route emulator answering 429 ThrottlingException (Retry-After: 0) on its own to
    ``rate`` of the requests, by a seeded draw per request."""
    creds = TestCredentials(
        STATIC_CREDS["aws_access_key_id"], STATIC_CREDS["aws_secret_access_key"]
    )
    return run_emulator(
        EmulatorConfig(
            credentials=(creds,),
            reference=ReferenceConfig(),
            throttle_rate=rate,
            throttle_seed=seed,
        )
    )


@pytest.fixture(scope="module")
def always_throttling() -> Iterator[str]:
    with _throttling_route(1.0, 0) as url:
        yield url


def test_route_throttling_is_a_rate_limit(always_throttling: str, sync: bool, stream: bool) -> None:
    out = call(always_throttling, sync=sync, stream=stream, model="sagemaker_openai/demo-endpoint")
    error = assert_failed(out, litellm.RateLimitError)
    headers = error.response.headers  # type: ignore[attr-defined]
    assert headers["retry-after"] == "0" and headers["x-amzn-errortype"] == "ThrottlingException"


def _seed_throttling_only_the_first(rate: float) -> int:
    # A request is throttled when its draw is below the rate: find a seed whose first draw
    # throttles and whose second does not, so only the Router's retry gets through.
    for seed in range(1000):
        draws = random.Random(seed)
        if draws.random() < rate <= draws.random():
            return seed
    raise AssertionError("no such seed")


@pytest.mark.usefixtures("instant_backoff")
def test_route_throttling_once_is_retried_by_the_router(sync: bool, stream: bool) -> None:
    model = "sagemaker_openai/demo-endpoint"
    with _throttling_route(0.5, _seed_throttling_only_the_first(0.5)) as url:
        out = _via_router(_router(url, model, 1), sync=sync, stream=stream)
    assert out.error is None and out.pool_problems == []
    text = out.text if stream else out.message.choices[0].message.content
    assert text == "You said: hi" and out.elapsed < TIMEOUT_S + SLACK_S


def _model_error(original_status: int, container_body: dict[str, Any]) -> dict[str, Any]:
    # The body SageMaker (and the emulator's classic API) sends for a container error.
    original = json.dumps(container_body)
    kind = "client" if original_status < 500 else "server"
    return {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": f'Received {kind} error ({original_status}) from primary with message "{original}".',
        "OriginalMessage": original,
        "OriginalStatusCode": original_status,
    }


def _openai_error(message: str, code: Any = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "BadRequestError", "param": param, "code": code}}


CONTEXT = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
MODEL_ERRORS = {
    "400": (
        400,
        _openai_error("temperature must be at most 2", 400, "temperature"),
        litellm.BadRequestError,
        "temperature must be at most 2",
    ),
    "400-context": (
        400,
        _openai_error(CONTEXT, "context_length_exceeded", "messages"),
        litellm.ContextWindowExceededError,
        CONTEXT,
    ),
    "503": (
        503,
        {"message": "model is loading"},
        litellm.ServiceUnavailableError,
        "model is loading",
    ),
}


@pytest.mark.parametrize("case", list(MODEL_ERRORS))
def test_424_model_error_becomes_the_containers_error(case: str, sync: bool, stream: bool) -> None:
    original_status, container_body, cls, message = MODEL_ERRORS[case]
    body = _model_error(original_status, container_body)
    with loopback(_flaky(424, 1, {"x-amzn-errortype": "ModelError"}, body)) as server:
        out = call(server.url, sync=sync, stream=stream)
    error = assert_failed(out, cls)
    assert message in str(error) and "Received" not in str(error)  # the container's own words
    assert len(server.hits) == 1


@pytest.mark.parametrize(
    "case",
    ["400", "400-context", "503"],
)
def test_424_model_error_reports_the_containers_status(case: str, sync: bool) -> None:
    # What a proxy client sees is ``status_code``: it must be the container's, not the 424.
    original_status, container_body, _, _ = MODEL_ERRORS[case]
    body = _model_error(original_status, container_body)
    with loopback(_flaky(424, 1, {"x-amzn-errortype": "ModelError"}, body)) as server:
        out = call(server.url, sync=sync, stream=False)
    assert out.error is not None
    assert out.error.status_code == original_status  # type: ignore[attr-defined]
