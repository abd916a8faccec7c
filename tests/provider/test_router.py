"""The Router retries, falls back and applies context_window_fallbacks: plain calls and streams."""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
import respx
from litellm import Router
from provider_support import CREDS, HOST, MESSAGES, chunk, completion_json, sse

BAD = f"{HOST}/endpoints/bad/openai/v1/chat/completions"
GOOD = f"{HOST}/endpoints/good/openai/v1/chat/completions"
BIG = f"{HOST}/endpoints/big/openai/v1/chat/completions"
SSE_HEADERS = {"content-type": "text/event-stream"}


def _router(**kwargs: Any) -> Router:
    deployments = [("primary", "bad"), ("backup", "good"), ("large", "big")]
    return Router(
        model_list=[{"model_name": name, "litellm_params": {"model": f"sagemaker_openai/{ep}", **CREDS}} for name, ep in deployments],
        num_retries=1, retry_after=0, **kwargs,
    )  # fmt: skip


def _call(router: Router, sync: bool, stream: bool, **kwargs: Any) -> str:
    if sync:
        out = router.completion(model="primary", messages=MESSAGES, stream=stream, **kwargs)
        if not stream:
            return str(out.choices[0].message.content)
        return "".join(c.choices[0].delta.content or "" for c in out if c.choices)

    async def run() -> str:
        out = await router.acompletion(model="primary", messages=MESSAGES, stream=stream, **kwargs)
        if not stream:
            return str(out.choices[0].message.content)
        return "".join([c.choices[0].delta.content or "" async for c in out if c.choices])

    return asyncio.run(run())


def _good(mock: respx.MockRouter, url: str = GOOD, text: str = "from backup") -> None:
    mock.post(url).mock(
        side_effect=lambda request: respx.MockResponse(200, content=sse(chunk({"role": "assistant", "content": text}), chunk({}, "stop")), headers=SSE_HEADERS)
        if b'"stream": true' in request.content or b'"stream":true' in request.content
        else respx.MockResponse(200, json=completion_json(text))
    )  # fmt: skip


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_errors_are_retried_then_fall_back(status: int, sync: bool, stream: bool) -> None:
    with respx.mock() as mock:
        bad = mock.post(BAD).respond(status, json={"message": "try later"})
        _good(mock)
        text = _call(_router(fallbacks=[{"primary": ["backup"]}]), sync, stream)
    assert text == "from backup"
    assert bad.call_count == 2  # the first try plus num_retries=1: the router retried a stream too


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_bad_request_falls_back(sync: bool, stream: bool) -> None:
    with respx.mock() as mock:
        mock.post(BAD).respond(400, json={"error": {"message": "unsupported"}})
        _good(mock)
        assert _call(_router(fallbacks=[{"primary": ["backup"]}]), sync, stream) == "from backup"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_context_window_fallbacks_apply_to_streams_too(sync: bool, stream: bool) -> None:
    with respx.mock() as mock:
        bad = mock.post(BAD).respond(
            400, json={"error": {"message": "This model's maximum context length is 8 tokens"}}
        )
        _good(mock, BIG, "from large")
        router = _router(context_window_fallbacks=[{"primary": ["large"]}])
        assert _call(router, sync, stream) == "from large"
    assert bad.call_count == 1  # a context-length error is not worth a retry


def test_without_fallback_the_mapped_error_reaches_the_caller() -> None:
    with respx.mock() as mock:
        mock.post(BAD).respond(503, json={"message": "no capacity"})
        with pytest.raises(litellm.ServiceUnavailableError, match="no capacity"):
            _call(_router(), True, True)
