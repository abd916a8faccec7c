"""Map what the route returns to LiteLLM's exception classes, in one table.

* 3xx (never followed)          -> BadGatewayError naming the Location
* HTTP status (after unwrapping SageMaker's 424 ModelError to the container's own status)
  -> ``STATUS_ERRORS``; then two message-based refinements:
  + context-length wording       -> ContextWindowExceededError
  + ThrottlingException          -> RateLimitError (AWS sends it with 400 too)
  + ValidationError "no capacity" -> SageMakerNoCapacityError, a RateLimitError (scale to zero)
* httpx transport failures     -> Timeout / APIConnectionError  (``TRANSPORT_ERRORS``)
* a body that cannot be decoded -> BadGatewayError (the container's fault, not the network's)
* our own configuration errors -> BadRequestError that is also a ConfigurationError

Every exception is built with keyword arguments: LiteLLM's classes disagree on the order.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import httpx
from litellm.exceptions import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
    UnprocessableEntityError,
)

from ._exceptions import ConfigurationError, CredentialsError, StreamError
from ._redact import redact
from ._routing import PROVIDER, ModelRef

STATUS_ERRORS: Final[dict[int, type[Exception]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: Timeout,
    413: BadRequestError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: Timeout,
}
TRANSPORT_ERRORS: Final[tuple[tuple[type[Exception], type[Exception]], ...]] = (
    (httpx.TimeoutException, Timeout),
    (httpx.TransportError, APIConnectionError),
)
_CONTEXT_RE: Final = re.compile(
    r"context length|context window|maximum context|too many tokens|prompt is too long|"
    r"input is too long|exceeds? the (?:model'?s? )?(?:max(?:imum)? )?(?:context|token)",
    re.IGNORECASE,
)
# SageMaker's refusal of a call to an inference component with no copy (scaled to zero):
# "Inference Component has no capacity to process this request. ...", a 400 ValidationError.
# Matched by type and wording, not by one exact body: the OpenAI route's answer is inferred.
_NO_CAPACITY_RE: Final = re.compile(r"\bno capacity\b", re.IGNORECASE)
_MAX_MESSAGE: Final = 600
IAM_HINT: Final = (
    'the identity that signed the token needs sagemaker:CallWithBearerToken (Resource "*") '
    "and sagemaker:InvokeEndpoint on arn:aws:sagemaker:{region}:<account>:endpoint/{endpoint}"
)


class SageMakerConfigurationError(BadRequestError, ConfigurationError):  # type: ignore[misc]
    """A configuration error raised through LiteLLM: catch either base class."""


class SageMakerCredentialsError(AuthenticationError, CredentialsError):  # type: ignore[misc]
    """Credentials could not be loaded; raised through LiteLLM as an AuthenticationError."""


class SageMakerStreamError(BadGatewayError, StreamError):
    """The container's response is not an OpenAI SSE stream."""


class SageMakerNoCapacityError(RateLimitError):
    """The inference component has no copy in service: it is scaling from zero.

    A RateLimitError (429) so that a Router cools the deployment down at once and serves the
    call from another deployment of the group; a 400 would be the caller's fault, never retried,
    and a 5xx cools down only past half of a minute's calls failing (docs/provider/production.md).
    """


def no_capacity_hint(ref: ModelRef) -> str:
    """What to do about a component scaling from zero (also the message after a wait ran out)."""
    return (
        f"{ref.describe()} has no copy in service: it is scaling from zero. The refused call "
        "starts the scale-out, which takes minutes, and every call is refused until a copy is "
        "in service. A Router with another deployment of this model serves the call there (this "
        "one cools down); to wait instead, set wait_for_capacity: <seconds> in the deployment's "
        "litellm_params or pass wait_for_capacity=<seconds> on the call"
    )


def _body_fields(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _message(fields: dict[str, Any], body: bytes) -> str:
    error = fields.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    for key in ("OriginalMessage", "message", "Message", "detail"):
        if fields.get(key):
            return str(fields[key])
    return body.decode("utf-8", "replace").strip() or "(empty body)"


def _unwrap_424(fields: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    # InvokeEndpoint-style ModelError: the container's status and body ride inside a 424.
    original = fields.get("OriginalStatusCode")
    if isinstance(original, int) and 100 <= original <= 599:
        inner = fields.get("OriginalMessage")
        inner_fields = _body_fields(inner.encode()) if isinstance(inner, str) else {}
        return original, inner_fields or fields
    return 424, fields


def error_for_status(
    status: int,
    body: bytes,
    *,
    ref: ModelRef,
    region: str,
    response: httpx.Response | None = None,
) -> Exception:
    """Build the LiteLLM exception for an error response from the route or container."""
    model = f"{PROVIDER}/{ref.endpoint}" + (
        f"/{ref.inference_component}" if ref.inference_component else ""
    )
    if 300 <= status < 400:
        return _redirect_error(status, model=model, ref=ref, response=response)
    fields = _body_fields(body)
    if status == 424:
        status, fields = _unwrap_424(fields)
        if status != 424 and response is not None:
            # LiteLLM exceptions take status_code from the response, and the proxy answers its
            # clients with it: report the container's status, not SageMaker's wrapper.
            inner = fields.get("OriginalMessage", json.dumps(fields))
            response = httpx.Response(
                status,
                headers=response.headers,
                content=str(inner).encode(),
                request=response.request,
            )
    text = redact(_message(fields, body))[:_MAX_MESSAGE]
    error = fields.get("error")
    nested: dict[str, Any] = error if isinstance(error, dict) else {}
    types = (fields.get("__type"), fields.get("code"), fields.get("type"), nested.get("type"))
    kind = " ".join(str(v) for v in types if v)
    if response is not None and response.headers.get("x-amzn-errortype"):
        kind += " " + response.headers["x-amzn-errortype"]
    if status == 401:
        text += (
            f" (SageMaker refused the bearer token for region {region}; check the machine clock "
            "and the AWS credentials, or pass a fresh api_key)"
        )
    elif status == 403:
        text += f" ({IAM_HINT.format(region=region, endpoint=ref.endpoint)})"
    elif status == 404:
        text += f" ({ref.describe()} was not found in {region}; check the name and the region)"
    if status == 400 and "ValidationError" in kind and _NO_CAPACITY_RE.search(text):
        message = f"{no_capacity_hint(ref)} (SageMaker: {text})"
        return build_error(SageMakerNoCapacityError, message, model=model, response=response)
    if "ThrottlingException" in kind or status == 429:
        cls: type[Exception] = RateLimitError
    elif status in (400, 413, 422) and _CONTEXT_RE.search(text):
        cls = ContextWindowExceededError
    else:
        cls = STATUS_ERRORS.get(status) or (
            BadRequestError if 400 <= status < 500 else InternalServerError
        )
    return build_error(cls, text, model=model, status=status, response=response)


def _redirect_error(
    status: int, *, model: str, ref: ModelRef, response: httpx.Response | None
) -> Exception:
    location = response.headers.get("location") if response is not None else None
    message = (
        f"the route answered {status}, a redirect to {redact(location or '(no Location header)')}"
        f", for {ref.describe()}; redirects are not followed, so the bearer token never goes to "
        "another host: set api_base to the URL that answers (e.g. the https:// form of a VPC "
        "endpoint), or leave api_base out to use the regional runtime host"
    )
    return build_error(BadGatewayError, message, model=model, status=502, response=response)


def build_error(
    cls: type[Exception],
    message: str,
    *,
    model: str,
    status: int = 500,
    response: httpx.Response | None = None,
    request: httpx.Request | None = None,
) -> Exception:
    """Instantiate a LiteLLM exception class with the arguments that class accepts."""
    common: dict[str, Any] = {"message": message, "model": model, "llm_provider": PROVIDER}
    if cls is Timeout:
        return Timeout(**common, exception_status_code=status)
    if cls is APIConnectionError:
        return APIConnectionError(**common, request=request)
    if cls is APIError:
        return APIError(**common, status_code=status, request=request)
    if response is None:
        req = request or httpx.Request("POST", "https://runtime.sagemaker.invalid")
        response = httpx.Response(status, request=req)
    factory: Any = cls  # every remaining class takes (message, model, llm_provider, response)
    return factory(**common, response=response)  # type: ignore[no-any-return]


def setup_error(exc: ConfigurationError | CredentialsError, *, model: str) -> Exception:
    """A configuration or credential problem found at send time, as LiteLLM's typed error.

    Credentials load lazily, on the first send: their errors surface here, not at validation.
    """
    if isinstance(exc, CredentialsError):
        return build_error(SageMakerCredentialsError, str(exc), model=model, status=401)
    return build_error(SageMakerConfigurationError, str(exc), model=model, status=400)


def error_for_transport(
    exc: Exception, *, model: str, url: str, response: httpx.Response | None = None
) -> Exception:
    """Map an httpx failure; the URL carries no secret, the token is a header.

    A body that cannot be decoded (``Content-Encoding: gzip`` over bytes that are not gzip) is
    the container's fault, not the network's: BadGatewayError, which the Router does not treat
    as a connection problem.
    """
    if isinstance(exc, httpx.DecodingError):
        encoding = response.headers.get("content-encoding") if response is not None else None
        message = (
            f"the container's answer could not be decoded (Content-Encoding: {encoding or '?'}): "
            f"{redact(str(exc))}; the container sent a body that does not match its "
            "Content-Encoding header"
        )
        return build_error(SageMakerStreamError, message, model=model, status=502)
    for source, target in TRANSPORT_ERRORS:
        if isinstance(exc, source):
            what = "timed out" if target is Timeout else "failed"
            message = f"request to {url} {what}: {type(exc).__name__}: {redact(str(exc))}"
            request = getattr(exc, "_request", None)
            return build_error(target, message, model=model, status=408, request=request)
    return exc
