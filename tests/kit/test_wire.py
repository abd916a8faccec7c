"""The kit's requests look like the OpenAI Python SDK's: same headers, same body bytes.

A recording server on loopback receives the same chat bodies from the installed openai SDK
(what the AWS sample client uses) and from the kit, and the two requests are compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance._engine._context import CheckContext
from conformance._wire._client import encode_body
from conformance._wire._serve import serve_app
from conformance._wire._target import Target

COMPLETION = {
    "id": "x", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                 "finish_reason": "stop", "logprobs": None}],
}  # fmt: skip
CHUNK = {
    "id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}],
}  # fmt: skip
# Values that name a version or a setting rather than the shape of the request.
VARYING = {"user-agent", "x-stainless-package-version", "x-stainless-read-timeout"}
IGNORED = {"host", "content-length", "authorization"}
BODIES: list[dict[str, Any]] = [
    {"model": "", "messages": [{"role": "user", "content": "Say OK"}], "temperature": 0,
     "max_completion_tokens": 16},
    {"model": "", "messages": [{"role": "user", "content": "Reply with exactly: héllo 👋 你好"}],
     "max_completion_tokens": 32, "logprobs": True, "top_logprobs": 2, "n": 2, "seed": 7,
     "stop": ["3"], "stream_options": None},
]  # fmt: skip


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def chat(request: Request) -> Response:
        body = await request.body()
        seen.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if json.loads(body).get("stream"):
            events = [f"data: {json.dumps(CHUNK)}\n\n", "data: [DONE]\n\n"]
            return StreamingResponse(iter(events), media_type="text/event-stream")
        return JSONResponse(COMPLETION)

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with serve_app(app) as url:
        yield url, seen


def sdk_request(url: str, body: dict[str, Any], stream: bool) -> None:
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
        answer = (
            client.chat.completions.create(**body, stream=stream)
            if stream
            else (client.chat.completions.create(**body))
        )
        if stream:
            list(answer)  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("body", BODIES, ids=["default", "many_fields"])
def test_the_kit_sends_what_the_sdk_sends(
    recorder: tuple[str, list[tuple[dict[str, str], bytes]]], body: dict[str, Any], stream: bool
) -> None:
    url, seen = recorder
    seen.clear()
    sdk_request(url, body, stream)
    ctx = CheckContext(Target.direct(url))
    (ctx.stream if stream else ctx.chat)(body)
    ctx.close()
    (sdk_headers, sdk_body), (kit_headers, kit_body) = seen
    assert kit_body == sdk_body
    assert set(kit_headers) - IGNORED == set(sdk_headers) - IGNORED
    same = set(sdk_headers) - IGNORED - VARYING
    assert {k: kit_headers[k] for k in same} == {k: sdk_headers[k] for k in same}
    assert re.fullmatch(r"OpenAI/Python \d+\.\d+\.\d+", kit_headers["user-agent"])
    assert kit_headers["accept"] == "application/json"  # also for streams, as the SDK does


def test_the_body_keeps_utf8_and_the_sdks_key_order() -> None:
    raw = encode_body(
        {"temperature": 0, "messages": [{"content": "é"}], "stream": True, "model": ""}
    )
    assert raw == '{"model":"","stream":true,"messages":[{"content":"é"}],"temperature":0}'.encode()
