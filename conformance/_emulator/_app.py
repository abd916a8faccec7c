"""The emulator's ASGI app: SageMaker's OpenAI-compatible route and classic InvokeEndpoint."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Final

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from litellm_sagemaker_openai import validate_name

from .._wire._limits import SAGEMAKER_MAX_BODY
from ._bridge import ASGIApp, Message, Receive, Send
from ._capacity import Capacity
from ._config import EmulatorConfig
from ._control import ControlPlane
from ._errors import fault_response
from ._forward import (
    REFERENCE_URL,
    Forwarder,
    RouteError,
    Target,
    aws_error,
    model_error,
    relay,
    relay_event_stream,
)
from ._health import HealthGate
from ._paths import RawPathRouting, segment_name
from ._sigv4 import verify_request
from ._tokens import TokenRejected, Verdict, verify_token

logger = logging.getLogger("conformance.emulator")

COMPONENT_HEADER: Final = "x-amzn-sagemaker-inference-component"
# SageMaker's answer to a body over the InvokeEndpoint limit, as AWS SDK users report it
# (docs/local-testing/emulator.md): HTTP 413, a JSON message, and no x-amzn-ErrorType.
TOO_LARGE: Final = f"HTTP content length exceeded {SAGEMAKER_MAX_BODY} bytes."
DRAIN_LIMIT: Final = 64 * 1_048_576
CALLER_GONE: Final = 499  # nginx's "client closed request"; no one reads it
_REFERENCE: Final = Target(REFERENCE_URL, in_process=True)


class _Emulator:
    """Route handlers sharing one configuration and one forwarder."""

    def __init__(self, config: EmulatorConfig, reference: ASGIApp | None) -> None:
        self._config = config
        self._reference = reference
        self._forwarder = Forwarder(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            reference=reference,
        )
        # A private generator: the throttle's draws depend only on the seed and request order.
        self._throttle = random.Random(config.throttle_seed)
        self._control = ControlPlane(config)
        self.capacity = Capacity(config.scale_to_zero, config.clock)
        self._health = HealthGate(config) if config.health_check else None

    async def control(self, request: Request) -> Response:
        """SageMaker's control plane (``POST /``), for discovery: see ``_control.py``."""
        try:
            body = await read_body(request)
        except RouteError as exc:
            return _refusal(exc)
        return await self._control.handle(request, body)

    def _throttled(self) -> Response | None:
        """Answer 429 for ``throttle_rate`` of the requests that passed auth and routing."""
        rate = self._config.throttle_rate
        if not rate or self._throttle.random() >= rate:
            return None
        response = aws_error(
            429, "Rate exceeded (the emulator's --throttle-rate)", "ThrottlingException"
        )
        response.headers["Retry-After"] = "0"
        return response

    def _fault(self, endpoint: str, component: str | None) -> Response | None:
        """SageMaker's own error for this name, if ``--fail`` set one (``_errors.py``)."""
        name = self._config.faults.get((endpoint, component))
        if name is None:
            return None
        region = self._config.region
        return fault_response(name, region=region, endpoint=endpoint, component=component)

    async def openai(self, request: Request) -> Response:
        try:
            body = await read_body(request)
            self._bearer(request)
            names = _names(request)
            failed = self._fault(*names)
            if failed is not None:
                return failed
            target = self._resolve(*names)
            refused = self.capacity.refusal(*names) or self._throttled()
            if refused is not None:
                return refused
            opened = await self._open(request, target, "/v1/chat/completions", body, names)
        except (TokenRejected, RouteError) as exc:
            return _refusal(exc)
        if opened is None:
            return Response(status_code=CALLER_GONE)
        return relay(*opened)

    async def invocations(self, request: Request) -> Response:
        return await self._invoke(request, stream=False)

    async def invocations_stream(self, request: Request) -> Response:
        return await self._invoke(request, stream=True)

    async def _invoke(self, request: Request, *, stream: bool) -> Response:
        try:
            body = await read_body(request)
            self._sigv4_or_bearer(request, body)
            endpoint, _ = _names(request)
            component = request.headers.get(COMPONENT_HEADER)
            if component is not None:
                validate_name(component, "inference component")
            failed = self._fault(endpoint, component)
            if failed is not None:
                return failed
            target = self._resolve(endpoint, component)
            refused = self.capacity.refusal(endpoint, component) or self._throttled()
            if refused is not None:
                return refused
            opened = await self._open(request, target, "/invocations", body, (endpoint, component))
        except ValueError as exc:
            return aws_error(400, str(exc), "ValidationError")
        except (TokenRejected, RouteError) as exc:
            return _refusal(exc)
        if opened is None:
            return Response(status_code=CALLER_GONE)
        client, upstream = opened
        if upstream.status_code >= 400:
            return await model_error(
                client, upstream, target.label, region=self._config.region, endpoint=endpoint
            )
        return relay_event_stream(client, upstream) if stream else relay(client, upstream)

    async def _open(
        self,
        request: Request,
        target: Target,
        path: str,
        body: bytes,
        names: tuple[str, str | None],
    ) -> tuple[httpx.AsyncClient, httpx.Response] | None:
        """Forward and wait for the container's headers, unless the caller leaves first.

        A caller that gave up (a client deadline) must not keep a request to a silent
        container open until the read timeout; None means the caller is gone.
        """
        opening = asyncio.ensure_future(self._forward(target, path, body, request, names))
        # The whole body has been read, so the next ASGI message is the disconnect.
        gone = asyncio.ensure_future(request.receive())
        try:
            done, _ = await asyncio.wait({opening, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not opening.done():
                opening.cancel()
        if opening in done:
            return opening.result()
        try:
            client, upstream = await opening  # cancelled, or it finished just now
        except (asyncio.CancelledError, RouteError):
            return None
        await upstream.aclose()
        await client.aclose()
        return None

    async def _forward(
        self,
        target: Target,
        path: str,
        body: bytes,
        request: Request,
        names: tuple[str, str | None],
    ) -> tuple[httpx.AsyncClient, httpx.Response]:
        """Health-check the container (a caller who leaves cancels that too), then forward."""
        if self._health is None:
            return await self._forwarder.open(target, path, body, request.headers)
        await self._health.check(target, *names)
        try:
            return await self._forwarder.open(target, path, body, request.headers)
        except RouteError:
            self._health.forget(target)  # it may have restarted: ping it before the next call
            raise

    def _bearer(self, request: Request) -> Verdict:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return verify_token(
            token.strip() if scheme.lower() == "bearer" else None,
            region=self._config.region,
            credentials=self._config.credentials,
            now=self._config.clock(),
        )

    def _sigv4_or_bearer(self, request: Request, body: bytes) -> Verdict:
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return self._bearer(request)
        config = self._config
        return verify_request(
            request, body, region=config.region, credentials=config.credentials, now=config.clock()
        )

    def _resolve(self, endpoint: str, component: str | None) -> Target:
        """Map names to a container; explicit mappings win, then the reference, else 404."""
        config = self._config
        if component is not None:
            url = config.components.get((endpoint, component))
            if url is not None:
                return _target(url)
            if self._reference is not None:
                return _REFERENCE
            raise RouteError(
                404,
                f"Inference component {component!r} of endpoint {endpoint!r} not found; map it "
                f"with --component {endpoint}/{component}=URL or start with --reference",
                "ValidationError",
            )
        url = config.endpoints.get(endpoint)
        if url is not None:
            return _target(url)
        if any(ep == endpoint for ep, _ in config.components):
            raise RouteError(
                400,
                f"Endpoint {endpoint!r} hosts inference components; call "
                f"/endpoints/{endpoint}/inference-components/<name>/... or send "
                "X-Amzn-SageMaker-Inference-Component",
                "ValidationError",
            )
        if self._reference is not None:
            return _REFERENCE
        raise RouteError(
            404,
            f"Endpoint {endpoint!r} not found; map it with --endpoint {endpoint}=URL "
            "or start with --reference",
            "ValidationError",
        )


def _target(url: str) -> Target:
    # A name declared without a URL (--endpoint NAME) is served by the reference container.
    return _REFERENCE if url == REFERENCE_URL else Target(url)


async def read_body(request: Request) -> bytes:
    """The request body, refused with SageMaker's 413 past 6,291,456 bytes.

    An oversized body is still read (and dropped), up to DRAIN_LIMIT: a client writes its whole
    body before reading the answer, and a connection closed under it would hide the 413.
    """
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= SAGEMAKER_MAX_BODY:
            body += chunk
        elif size > DRAIN_LIMIT:
            break
    if size > SAGEMAKER_MAX_BODY:
        raise RouteError(413, TOO_LARGE, None)
    return bytes(body)


def _names(request: Request) -> tuple[str, str | None]:
    params = request.path_params
    try:
        endpoint = validate_name(segment_name(params["endpoint"]))
        component = params.get("component")
        if component is not None:
            component = validate_name(segment_name(component), "inference component")
    except ValueError as exc:
        raise RouteError(400, str(exc), "ValidationError") from None
    return endpoint, component


def _refusal(exc: TokenRejected | RouteError) -> Response:
    if isinstance(exc, RouteError):
        return exc.response()
    return aws_error(exc.status, exc.message, exc.error_type)


class AccessLogMiddleware:
    """Log method, path, status and duration of every request; never headers or bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            # The path only: query strings and headers could carry credentials.
            logger.info("%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_ms)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return aws_error(
        status,
        f"No route for {request.method} {request.url.path}; the emulator serves POST "
        "/endpoints/<ep>[/inference-components/<ic>]/openai/v1/chat/completions, "
        "/endpoints/<ep>/invocations[-response-stream] and the control plane's POST /",
        "UnknownOperationException",
    )


def create_emulator_app(config: EmulatorConfig) -> Starlette:
    """Build the emulator of SageMaker's OpenAI-compatible route.

    With ``config.reference`` set, the reference container runs in the same process and
    event loop; it is called as an ASGI app through a streaming bridge, so its responses
    arrive chunk by chunk, paced as it sends them.
    """
    reference: ASGIApp | None = None
    if config.reference is not None:
        from conformance._reference import create_reference_app

        reference = create_reference_app(config.reference)
    emulator = _Emulator(config, reference)
    prefix = "/endpoints/{endpoint}"
    routes = [
        Route("/", emulator.control, methods=["POST"]),
        Route(f"{prefix}/openai/v1/chat/completions", emulator.openai, methods=["POST"]),
        Route(
            f"{prefix}/inference-components/{{component}}/openai/v1/chat/completions",
            emulator.openai,
            methods=["POST"],
        ),
        Route(f"{prefix}/invocations", emulator.invocations, methods=["POST"]),
        Route(
            f"{prefix}/invocations-response-stream", emulator.invocations_stream, methods=["POST"]
        ),
    ]
    app = Starlette(
        routes=routes,
        # Outermost: the router and the access log see the path as it was sent (_paths.py).
        middleware=[Middleware(RawPathRouting), Middleware(AccessLogMiddleware)],
        exception_handlers={HTTPException: _not_found},
    )
    # Starlette answers a path with an extra trailing slash with a 307 to the other spelling;
    # the route has no such redirect, so every path it does not serve gets the same 404.
    app.router.redirect_slashes = False
    app.state.capacity = emulator.capacity  # tests count the refused calls there
    return app
