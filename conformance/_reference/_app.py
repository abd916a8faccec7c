"""The reference container's routes: /ping, /invocations, /v1/chat/completions, /v1/models,
/metrics."""

from __future__ import annotations

import asyncio
import time
import uuid

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conformance._reference._config import ReferenceConfig
from conformance._reference._model import generate, prompt_tokens
from conformance._reference._render import (
    Reply,
    completion_body,
    generation_seconds,
    stream_frames,
)
from conformance._reference._stream import Running, stream_response
from conformance._reference._types import ChatRequest, RequestError
from conformance._reference._validate import parse_json_body, parse_request


def create_reference_app(config: ReferenceConfig | None = None) -> Starlette:
    """Build the reference container as an ASGI app (serve it with uvicorn or httpx.ASGITransport).

    Headers such as `Authorization` and `X-Amzn-SageMaker-*` are ignored, as SageMaker requires.
    """
    config = config or ReferenceConfig()
    started = int(time.time())
    running = Running()

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def metrics(request: Request) -> Response:
        # vLLM's name for the gauge, so the kit reads the reference as it reads vLLM.
        text = (
            "# TYPE vllm:num_requests_running gauge\n"
            f'vllm:num_requests_running{{model_name="{config.model_name}"}} {running.count}.0\n'
        )
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def models(request: Request) -> Response:
        model = {
            "id": config.model_name,
            "object": "model",
            "created": started,
            "owned_by": "conformance-reference",
            "max_model_len": config.context_limit,
        }
        return JSONResponse({"object": "list", "data": [model]})

    async def chat(request: Request) -> Response:
        try:
            body = parse_json_body(request.headers.get("content-type"), await request.body())
            chat_request = parse_request(body)
            if body.get("model") == "" and config.has("reject_empty_model"):
                raise RequestError(
                    "The model `` does not exist (fault reject_empty_model); name the model",
                    status=404,
                    param="model",
                    code="model_not_found",
                )
            prompt = prompt_tokens(chat_request, config.context_limit)
            _check_context(chat_request, prompt, config.context_limit)
        except RequestError as error:
            status = 500 if config.has("server_error_on_bad_request") else error.status
            return JSONResponse(error.envelope(), status_code=status)
        reply = Reply(
            request=chat_request,
            config=config,
            choices=generate(chat_request, config, prompt),
            prompt_tokens=prompt,
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
        )
        if chat_request.stream:
            return await stream_response(stream_frames(reply), config, running)
        running.count += 1
        try:
            await asyncio.sleep(generation_seconds(reply))
        finally:
            running.release()
        return JSONResponse(completion_body(reply))

    routes = [
        Route("/invocations", chat, methods=["POST"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if not config.has("no_ping"):
        routes.append(Route("/ping", ping, methods=["GET", "POST"]))
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


def _check_context(request: ChatRequest, prompt: int, limit: int) -> None:
    # vLLM's wording: LiteLLM and others classify "maximum context length" as a context error.
    if prompt >= limit:
        counted = f"more than {limit}" if prompt > limit else str(prompt)
        raise RequestError(
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {counted} tokens. Please reduce the length of the messages.",
            param="messages",
            code="context_length_exceeded",
        )
    if request.max_tokens is not None and prompt + request.max_tokens > limit:
        raise RequestError(
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{prompt + request.max_tokens} tokens ({prompt} in the messages, "
            f"{request.max_tokens} in the completion). Please reduce the length of the "
            "messages or completion.",
            param="max_tokens",
            code="context_length_exceeded",
        )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = RequestError(
        f"{request.method} {request.url.path}: {exc.detail}; the reference container serves "
        "GET /ping, POST /invocations, POST /v1/chat/completions, GET /v1/models and GET /metrics",
        status=exc.status_code,
        code=exc.status_code,
        type_="not_found_error" if exc.status_code == 404 else "invalid_request_error",
    )
    return JSONResponse(error.envelope(), status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    error = RequestError(
        f"internal error in the reference container: {type(exc).__name__}",
        status=500,
        code=500,
        type_="internal_server_error",
    )
    return JSONResponse(error.envelope(), status_code=500)
