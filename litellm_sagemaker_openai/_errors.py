"""Map what the route returns to LiteLLM's exception classes, in one table.

* 3xx (never followed)          -> BadGatewayError naming the Location
* HTTP status (after unwrapping SageMaker's 424 ModelError to the container's own status)
  -> ``STATUS_ERRORS``; then two message-based refinements:
  + context-length wording       -> ContextWindowExceededError
  + ThrottlingException          -> RateLimitError (AWS sends it with 400 too)
  + ValidationError "no capacity" -> SageMakerNoCapacityError, a RateLimitError (scale to zero)
* a certificate that does not verify -> BadRequestError (``SageMakerCertificateError``): a
  trust setting to fix, not a network blip, so the Router does not retry it
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
REQUEST_ID_HEADER: Final = "x-amzn-requestid"
PROXY_REQUEST_ID_HEADER: Final = f"llm_provider-{REQUEST_ID_HEADER}"  # as LiteLLM's proxy names it
# SageMaker's own error types whose class is not the one their status gives
# (docs/provider/errors.md): throttling comes as 400 too, and 530 is no standard status.
THROTTLED: Final = frozenset({"ThrottlingException"})
UNAVAILABLE: Final = frozenset({"InternalDependencyException"})
# "not found": deleted or never created; "not in service": creating, failed (its container
# failed the /ping health check) or being deleted. Either way the deployment cannot serve.
_NOT_FOUND_RE: Final = re.compile(r"\bnot (?:found|in service)\b", re.IGNORECASE)
_ERROR_TYPE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")
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


class SageMakerCertificateError(BadRequestError):
    """The server's TLS certificate did not verify against the CA bundle in use."""


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


def request_id(response: httpx.Response | None) -> str | None:
    """SageMaker's id for one request (``x-amzn-RequestId``): what AWS support asks for."""
    return None if response is None else response.headers.get(REQUEST_ID_HEADER)


def sagemaker_error_type(fields: dict[str, Any], response: httpx.Response | None) -> str | None:
    """The AWS error type of an answer SageMaker wrote itself, or None for a container's answer.

    SageMaker names its errors in ``x-amzn-ErrorType`` (some AWS front ends in ``__type``); a
    container behind the OpenAI route does not, and its answer passes through unchanged.
    """
    header = response.headers.get("x-amzn-errortype") if response is not None else None
    named = header or fields.get("__type")
    # "ValidationError:http://internal.amazon.com/..." is how some AWS front ends spell it.
    name = str(named).split(":")[0].rsplit("#", 1)[-1] if named else ""
    return name if _ERROR_TYPE_RE.fullmatch(name) else None


def _sagemaker_class(error_type: str, text: str) -> type[Exception] | None:
    """The class for an error SageMaker wrote, where its type says more than its status."""
    if error_type in THROTTLED:
        return RateLimitError
    if error_type == "ValidationError" and _NOT_FOUND_RE.search(text):
        return NotFoundError  # deleted or never created: no retry, and a cooldown at once
    if error_type in UNAVAILABLE:
        return ServiceUnavailableError
    return None


def error_for_status(
    status: int,
    body: bytes,
    *,
    ref: ModelRef,
    region: str,
    response: httpx.Response | None = None,
) -> Exception:
    """Build the LiteLLM exception for an error response from the route or container.

    The exception says who wrote the error (``error_author``: ``"sagemaker"`` or
    ``"container"``), carries SageMaker's request id (``sagemaker_request_id``) and, for a
    ModelError, the CloudWatch log stream of the container (``log_stream_arn``).
    """
    model = f"{PROVIDER}/{ref.endpoint}" + (
        f"/{ref.inference_component}" if ref.inference_component else ""
    )
    if 300 <= status < 400:
        return _redirect_error(status, model=model, ref=ref, response=response)
    fields = _body_fields(body)
    error_type = sagemaker_error_type(fields, response)
    log_stream = fields.get("LogStreamArn") if status == 424 else None
    log_stream = redact(log_stream)[:300] if isinstance(log_stream, str) else None
    if status == 424:
        status, fields = _unwrap_424(fields)
        if status != 424:
            error_type = None  # the container wrote what SageMaker relays
            if response is not None:
                # LiteLLM exceptions take status_code from the response, and the proxy answers
                # its clients with it: report the container's status, not SageMaker's wrapper.
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
    elif error_type == "ValidationError" and "not in service" in text.lower():
        text += (
            f" ({ref.describe()} is not in service in {region}: its endpoint is being created, "
            "has failed or is being deleted; DescribeEndpoint gives its status and FailureReason)"
        )
    elif status == 404 or (error_type == "ValidationError" and _NOT_FOUND_RE.search(text)):
        text += (
            f" ({ref.describe()} was not found in {region}; check the name and the region, "
            "or whether it was deleted)"
        )
    rid = request_id(response)
    if status == 400 and "ValidationError" in kind and _NO_CAPACITY_RE.search(text):
        message = f"{no_capacity_hint(ref)} (SageMaker: {text})"
        message += _authorship("sagemaker", "ValidationError", status, rid, None)
        error = build_error(SageMakerNoCapacityError, message, model=model, response=response)
        return _tag(error, "sagemaker", "ValidationError", rid, None)
    cls = _sagemaker_class(error_type, text) if error_type else None
    if cls is None and ("ThrottlingException" in kind or status == 429):
        cls = RateLimitError
    elif cls is None and status in (400, 413, 422) and _CONTEXT_RE.search(text):
        cls = ContextWindowExceededError
    elif cls is None:
        cls = STATUS_ERRORS.get(status) or (
            BadRequestError if 400 <= status < 500 else InternalServerError
        )
    if cls is NotFoundError and status != 404:
        # SageMaker says "not found" with a 400; LiteLLM's Router cools a deployment down at
        # once for a 404, and not for a 400, and the proxy answers with this status.
        status = 404
        if response is not None:
            response = httpx.Response(
                404, headers=response.headers, content=response.content, request=response.request
            )
    author = "sagemaker" if error_type else "container"
    text += _authorship(author, error_type, status, rid, log_stream)
    error = build_error(cls, text, model=model, status=status, response=response)
    return _tag(error, author, error_type, rid, log_stream)


def _tag(
    error: Exception, author: str, error_type: str | None, rid: str | None, log_stream: str | None
) -> Exception:
    error.error_author = author  # type: ignore[attr-defined]
    error.sagemaker_error_type = error_type  # type: ignore[attr-defined]
    error.sagemaker_request_id = rid  # type: ignore[attr-defined]
    error.log_stream_arn = log_stream  # type: ignore[attr-defined]
    return error


def answer_error(message: str, *, model: str, answer: httpx.Response | None) -> Exception:
    """A container's answer the provider cannot use: BadGatewayError that is a StreamError.

    It names SageMaker's request id of that answer, like every error from the route.
    """
    rid = request_id(answer)
    tail = f" [written by the container; SageMaker request id {rid}]" if rid else ""
    error = build_error(SageMakerStreamError, message + tail, model=model, status=502)
    return _tag(error, "container", None, rid, None)


def _authorship(
    author: str, error_type: str | None, status: int, rid: str | None, log_stream: str | None
) -> str:
    """The message's tail: who wrote the error, where its logs are, and the request id."""
    if author == "sagemaker":
        parts = [f"written by SageMaker: {error_type}"]
    else:
        parts = [f"written by the container (status {status})"]
    if log_stream:
        parts.append(f"container logs: CloudWatch {log_stream}")
    if rid:
        parts.append(f"SageMaker request id {rid}")
    return " [" + "; ".join(parts) + "]"


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
