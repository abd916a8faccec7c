"""Forward a request to its container and relay the answer byte-for-byte, as it arrives."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import httpx
from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response, StreamingResponse

from . import _eventstream
from ._bridge import ASGIApp, StreamingASGITransport
from ._errors import model_error_body

logger = logging.getLogger("conformance.emulator")

REFERENCE_URL: Final = "http://reference.invalid"
# InvokeEndpoint passes only these request headers on to the container; everything else,
# Authorization included, stops at SageMaker.
_FORWARDED: Final = frozenset({"content-type", "accept"})
_SAGEMAKER_PREFIX: Final = "x-amzn-sagemaker-"


@dataclass(frozen=True)
class Target:
    """Where a request goes: a container base URL, or the in-process reference container."""

    url: str
    in_process: bool = False

    @property
    def label(self) -> str:
        return (
            "the built-in reference container"
            if self.in_process
            else f"the container at {self.url}"
        )


class RouteError(Exception):
    """A failure answered by the emulator itself, with an AWS-shaped JSON body."""

    def __init__(self, status: int, message: str, error_type: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type

    def response(self) -> Response:
        return aws_error(self.status, self.message, self.error_type)


def aws_error(status: int, message: str, error_type: str | None) -> JSONResponse:
    """AWS JSON-protocol error: ``{"message": ...}`` plus the ``x-amzn-ErrorType`` header.

    ``error_type=None`` leaves the header out, as SageMaker's front end does for a 413.
    """
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def forwarded_headers(headers: Headers) -> dict[str, str]:
    """The request headers SageMaker passes to a container."""
    kept = {
        name: value
        for name, value in headers.items()
        if name in _FORWARDED or name.startswith(_SAGEMAKER_PREFIX)
    }
    # Ask for identity encoding so the relayed bytes are exactly what the container wrote.
    kept["accept-encoding"] = "identity"
    return kept


def relayed_headers(upstream: httpx.Response) -> dict[str, str]:
    """The container's response headers a client sees, plus the ones SageMaker adds."""
    kept = {
        name: value
        for name, value in upstream.headers.items()
        if name == "content-type" or name.startswith(_SAGEMAKER_PREFIX)
    }
    kept["x-amzn-invoked-production-variant"] = "AllTraffic"
    kept["x-amzn-requestid"] = str(uuid.uuid4())
    return kept


class Forwarder:
    """Opens one streamed request per call; its client closes with the response."""

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, reference: ASGIApp | None
    ) -> None:
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._reference = reference

    async def open(
        self, target: Target, path: str, body: bytes, headers: Headers
    ) -> tuple[httpx.AsyncClient, httpx.Response]:
        """Send the request and return once the container's status and headers are in.

        Raises:
            RouteError: 502 if the container cannot be reached, 504 if it does not answer.
        """
        transport = None
        if target.in_process and self._reference is not None:
            transport = StreamingASGITransport(self._reference)
        # A client per request: the emulator may be driven from several event loops
        # (uvicorn, tests through ASGITransport), and a pooled client is bound to one.
        client = httpx.AsyncClient(transport=transport, timeout=self._timeout, trust_env=False)
        request = client.build_request(
            "POST", target.url + path, content=body, headers=forwarded_headers(headers)
        )
        try:
            return client, await client.send(request, stream=True)
        except asyncio.CancelledError:  # the caller left (see _Emulator._open)
            await client.aclose()
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            await client.aclose()
            logger.warning("%s is unreachable: %s", target.label, type(exc).__name__)
            raise RouteError(
                502,
                f"{target.label} is unreachable ({type(exc).__name__}); start the container "
                "or fix the endpoint mapping",
                "ServiceUnavailable",
            ) from None
        except httpx.TimeoutException as exc:
            await client.aclose()
            raise RouteError(
                504,
                f"{target.label} did not answer {path} in time ({type(exc).__name__}); "
                "check that it is healthy",
                "ModelNotReadyException",
            ) from None
        except httpx.TransportError as exc:
            await client.aclose()
            raise RouteError(
                502,
                f"{target.label} failed before answering ({type(exc).__name__})",
                "ServiceUnavailable",
            ) from None


def relay(client: httpx.AsyncClient, upstream: httpx.Response) -> StreamingResponse:
    """Stream the container's bytes back unchanged, one chunk as soon as it arrives."""

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.TransportError as exc:
            # Let the client see a truncated body, as it would through the real route.
            logger.warning("container stream broke: %s", type(exc).__name__)
            raise
        finally:
            await _close(client, upstream)

    return StreamingResponse(
        chunks(),
        status_code=upstream.status_code,
        headers=relayed_headers(upstream),
        background=BackgroundTask(_close, client, upstream),
    )


def relay_event_stream(client: httpx.AsyncClient, upstream: httpx.Response) -> StreamingResponse:
    """Wrap each container chunk in a ``PayloadPart`` event, as the response-stream API does."""

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield _eventstream.payload_part(chunk)
        except httpx.TransportError as exc:
            logger.warning("container stream broke: %s", type(exc).__name__)
            yield _eventstream.model_stream_error(
                f"the container stream broke ({type(exc).__name__})"
            )
        finally:
            await _close(client, upstream)

    headers = relayed_headers(upstream)
    headers["x-amzn-sagemaker-content-type"] = headers.pop("content-type", "application/json")
    headers["content-type"] = _eventstream.CONTENT_TYPE
    return StreamingResponse(
        events(),
        status_code=200,
        headers=headers,
        background=BackgroundTask(_close, client, upstream),
    )


async def model_error(
    client: httpx.AsyncClient, upstream: httpx.Response, label: str, *, region: str, endpoint: str
) -> Response:
    """Wrap a container 4xx/5xx the way InvokeEndpoint does: 424 ``ModelError``."""
    try:
        original = (await upstream.aread()).decode("utf-8", "replace")
    finally:
        await _close(client, upstream)
    kind = "client" if upstream.status_code < 500 else "server"
    message = (
        f'Received {kind} error ({upstream.status_code}) from {label} with message "{original}".'
    )
    body = model_error_body(
        original_status=upstream.status_code,
        original=original,
        message=message,
        region=region,
        endpoint=endpoint,
    )
    return Response(
        body,
        status_code=424,
        media_type="application/json",
        headers={"x-amzn-ErrorType": "ModelError", "x-amzn-RequestId": str(uuid.uuid4())},
    )


async def _close(client: httpx.AsyncClient, upstream: httpx.Response) -> None:
    await upstream.aclose()
    await client.aclose()
