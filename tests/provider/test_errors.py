"""The error table: every status and cause maps to its LiteLLM class, with a helpful message."""

from __future__ import annotations

import asyncio
import json

import httpx
import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, IC_URL, MESSAGES

from litellm_sagemaker_openai._errors import STATUS_ERRORS, error_for_status
from litellm_sagemaker_openai._routing import ModelRef

CASES = [
    (400, {"error": {"message": "bad temperature", "type": "invalid_request_error"}}, litellm.BadRequestError, "bad temperature"),
    (400, {"error": {"message": "This model's maximum context length is 4096 tokens"}}, litellm.ContextWindowExceededError, "maximum context length"),
    (401, {"message": "Invalid bearer token"}, litellm.AuthenticationError, "clock"),
    (403, {"message": "not authorized"}, litellm.PermissionDeniedError, "sagemaker:CallWithBearerToken"),
    (404, {"message": "Endpoint ep of account 1 not found."}, litellm.NotFoundError, "endpoint 'ep'"),
    (408, {"message": "slow"}, litellm.Timeout, "slow"),
    (413, {"message": "too big"}, litellm.BadRequestError, "too big"),
    (422, {"detail": "bad field"}, litellm.UnprocessableEntityError, "bad field"),
    (429, {"message": "Rate exceeded"}, litellm.RateLimitError, "Rate exceeded"),
    (400, {"__type": "ThrottlingException", "message": "slow down"}, litellm.RateLimitError, "slow down"),
    (500, {"message": "boom"}, litellm.InternalServerError, "boom"),
    (502, {"message": "gateway"}, litellm.BadGatewayError, "gateway"),
    (503, {"message": "no capacity"}, litellm.ServiceUnavailableError, "no capacity"),
    (504, {"message": "upstream timeout"}, litellm.Timeout, "upstream timeout"),
    (424, {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalStatusCode": 400, "OriginalMessage": json.dumps({"error": {"message": "container says no"}})}, litellm.BadRequestError, "container says no"),
    (424, {"OriginalStatusCode": 429, "OriginalMessage": "busy"}, litellm.RateLimitError, "busy"),
    (424, {"OriginalStatusCode": 400, "OriginalMessage": "prompt is too long"}, litellm.ContextWindowExceededError, "too long"),
    (418, {"message": "teapot"}, litellm.BadRequestError, "teapot"),
    (599, {"message": "odd"}, litellm.InternalServerError, "odd"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "cls", "needle"), CASES, ids=[f"{c[0]}-{c[2].__name__}" for c in CASES]
)
def test_error_table_through_litellm(
    status: int, body: dict[str, object], cls: type[Exception], needle: str
) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(status, json=body)
        with pytest.raises(cls) as info:
            litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0, **CREDS
            )
    assert type(info.value) is cls or (
        cls is litellm.BadRequestError and isinstance(info.value, cls)
    )
    assert needle in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 503])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_stream_errors_before_the_first_byte_raise_from_the_call(status: int, sync: bool) -> None:
    cls = STATUS_ERRORS[status]

    async def run() -> None:
        await litellm.acompletion(
            model="sagemaker_openai/ep/ic", messages=MESSAGES, stream=True, **CREDS
        )

    with respx.mock() as mock:
        mock.post(IC_URL).respond(status, json={"message": "nope"})
        with pytest.raises(cls):
            if sync:
                litellm.completion(
                    model="sagemaker_openai/ep/ic", messages=MESSAGES, stream=True, **CREDS
                )
            else:
                asyncio.run(run())


def test_403_names_both_iam_actions_and_404_names_the_component() -> None:
    ref = ModelRef("my-ep", "my-ic")
    denied = error_for_status(403, b'{"message":"denied"}', ref=ref, region="eu-west-1")
    assert "sagemaker:CallWithBearerToken" in str(denied) and "sagemaker:InvokeEndpoint" in str(
        denied
    )
    assert "arn:aws:sagemaker:eu-west-1:<account>:endpoint/my-ep" in str(denied)
    missing = error_for_status(404, b"", ref=ref, region="eu-west-1")
    assert "'my-ep'" in str(missing) and "'my-ic'" in str(missing)


def test_429_keeps_retry_after_for_the_router() -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(429, json={"message": "slow"}, headers={"retry-after": "7"})
        with pytest.raises(litellm.RateLimitError) as info:
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS)
    assert info.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), litellm.APIConnectionError),
        (httpx.ReadTimeout("slow"), litellm.Timeout),
        (httpx.ConnectTimeout("slow"), litellm.Timeout),
        (httpx.RemoteProtocolError("cut"), litellm.APIConnectionError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_transport_failures(exc: Exception, cls: type[Exception], stream: bool) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).mock(side_effect=exc)
        with pytest.raises(cls):
            litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, stream=stream, **CREDS
            )


def test_non_json_success_body_is_a_clear_error() -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(
            200, text="<html>oops</html>", headers={"content-type": "text/html"}
        )
        with pytest.raises(litellm.BadGatewayError, match="not a chat completion"):
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS)


def _answer(status: int, body: dict[str, object], **headers: str) -> httpx.Response:
    request = httpx.Request("POST", EP_URL)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("error_type", "message", "cls", "status", "author"),
    [
        # AWS front ends may append a namespace to the type: it is cut off.
        ("ValidationError:http://internal.amazon.com/coral/", "Endpoint ep of account 1 not found.",
         litellm.NotFoundError, 404, "sagemaker"),
        ("ValidationError", "Inspect your request", litellm.BadRequestError, 400, "sagemaker"),
        ("ThrottlingException", "Rate exceeded", litellm.RateLimitError, 429, "sagemaker"),
        ("InternalDependencyException", "dependency", litellm.ServiceUnavailableError, 503, "sagemaker"),
        (None, "bad temperature", litellm.BadRequestError, 400, "container"),
    ],
)  # fmt: skip
def test_the_author_follows_x_amzn_errortype(
    error_type: str | None, message: str, cls: type[Exception], status: int, author: str
) -> None:
    headers = {"x-amzn-RequestId": "rid-1"}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    statuses = {"ThrottlingException": 400, "InternalDependencyException": 530}
    sent = statuses.get(error_type or "", 400)
    response = _answer(sent, {"message": message}, **headers)
    error = error_for_status(
        sent, response.content, ref=ModelRef("ep", None), region="us-east-1", response=response
    )
    assert type(error) is cls
    assert getattr(error, "status_code", None) == status
    assert getattr(error, "error_author", None) == author
    assert getattr(error, "sagemaker_request_id", None) == "rid-1"
    assert str(error).endswith("SageMaker request id rid-1]")
