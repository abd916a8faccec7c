"""SageMaker's own runtime errors, one table: each one's status, ``x-amzn-ErrorType`` and body.

``--fail EP[/IC]=NAME`` (``EmulatorConfig.faults``) makes the emulator answer every call to that
endpoint or component with the error NAME, after the token check and before the container, as
SageMaker answers errors of its own. The source of each row is in ``source``, and in
docs/local-testing/emulator.md; a wording no public source gives is marked inferred.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Final

from starlette.responses import Response

ACCOUNT: Final = "123456789012"  # the emulator's account, as in the control plane's ARNs
_SERVICE_MODEL: Final = "botocore sagemaker-runtime service model"
_COMMON: Final = "AWS API reference, Common Errors"


@dataclass(frozen=True)
class Fault:
    """One error SageMaker answers by itself: ``message`` is formatted with the call's names."""

    status: int
    error_type: str
    message: str
    source: str


FAULTS: Final[dict[str, Fault]] = {
    "ValidationError": Fault(
        400,
        "ValidationError",
        "{what} of account {account} not found.",
        f"{_SERVICE_MODEL} (ValidationError, 400); the wording is InvokeEndpoint's, as AWS SDK "
        "users report it (aws/amazon-sagemaker-examples#293, #559)",
    ),
    "Deleting": Fault(
        400,
        "ValidationError",
        "{what} of account {account} not found.",
        "an endpoint being deleted answers as a deleted one (aws/amazon-sagemaker-examples#559, "
        "a SageMaker engineer); that it does so from the start of DeleteEndpoint is inferred",
    ),
    "NotInService": Fault(
        400,
        "ValidationError",
        "{what} of account {account} is not in service: the primary container for production "
        "variant AllTraffic did not pass the ping health check. Please check CloudWatch logs for "
        "this endpoint.",
        f"{_SERVICE_MODEL} (ValidationError, 400: the runtime's error for a call it cannot "
        "route); the wording is inferred, from DescribeEndpoint's FailureReason for a container "
        "that fails /ping, as AWS users report it",
    ),
    "ModelError": Fault(
        424,
        "ModelError",
        'Received server error (500) from primary with message "{original}". See {console} in '
        "account {account} for more information.",
        f"{_SERVICE_MODEL} (ModelError, 424: Message, OriginalStatusCode, OriginalMessage, "
        "LogStreamArn); the Message wording is InvokeEndpoint's, as AWS SDK users report it",
    ),
    "ModelNotReadyException": Fault(
        429,
        "ModelNotReadyException",
        "Model for endpoint {endpoint} is not ready yet; wait and try your request again.",
        f"{_SERVICE_MODEL} (ModelNotReadyException, 429); the wording is inferred",
    ),
    "ServiceUnavailable": Fault(
        503,
        "ServiceUnavailable",
        "The service is unavailable. Try your call again.",
        f"{_SERVICE_MODEL} (ServiceUnavailable, 503, and its documentation's wording)",
    ),
    "InternalFailure": Fault(
        500,
        "InternalFailure",
        "An internal failure occurred.",
        f"{_SERVICE_MODEL} (InternalFailure, 500, and its documentation's wording)",
    ),
    "InternalDependencyException": Fault(
        530,
        "InternalDependencyException",
        "Your request caused an exception with an internal dependency. Contact customer support.",
        f"{_SERVICE_MODEL} (InternalDependencyException, 530, and its documentation's wording)",
    ),
    "ThrottlingException": Fault(
        400,
        "ThrottlingException",
        "Rate exceeded",
        f"{_COMMON} (ThrottlingException, 400); the wording is AWS's usual one",
    ),
}
# The container's answer inside a ModelError made by --fail: what a crashed vLLM sends.
_ORIGINAL: Final = '{"error": {"message": "the container failed", "type": "InternalServerError"}}'


def parse_fault_flag(value: str) -> tuple[tuple[str, str | None], str]:
    """Parse ``EP[/IC]=NAME`` from ``--fail``; NAME is a key of FAULTS."""
    names, sep, fault = value.partition("=")
    endpoint, _, component = names.partition("/")
    if not sep or not endpoint or fault not in FAULTS:
        raise ValueError(
            f"--fail expects ENDPOINT[/COMPONENT]=ERROR with ERROR one of {', '.join(FAULTS)}; "
            f"got {value!r}"
        )
    return (endpoint, component or None), fault


def log_group(region: str, endpoint: str) -> str:
    """The CloudWatch log group of an endpoint's containers."""
    return f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}"


def model_error_body(
    *, original_status: int, original: str, message: str, region: str, endpoint: str
) -> bytes:
    """A ModelError body: the container's status and answer, and where its logs are."""
    body = {
        "ErrorCode": f"{'CLIENT' if original_status < 500 else 'SERVER'}_ERROR_FROM_MODEL",
        "LogStreamArn": log_group(region, endpoint),
        "Message": message,
        "OriginalMessage": original,
        "OriginalStatusCode": original_status,
    }
    return json.dumps(body).encode()


def fault_response(
    name: str, *, region: str, endpoint: str, component: str | None, detail: str = ""
) -> Response:
    """SageMaker's answer for the fault ``name`` on a call to ``endpoint`` [``component``].

    ``detail`` is the emulator's own note, appended after SageMaker's wording.
    """
    fault = FAULTS[name]
    what = f"Inference Component {component}" if component is not None else f"Endpoint {endpoint}"
    console = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
    )
    message = fault.message.format(
        what=what, account=ACCOUNT, endpoint=endpoint, original=_ORIGINAL, console=console
    ) + (f" [emulator: {detail}]" if detail else "")
    if name == "ModelError":
        content = model_error_body(
            original_status=500, original=_ORIGINAL, message=message, region=region,
            endpoint=endpoint,
        )  # fmt: skip
    else:
        content = json.dumps({"message": message}).encode()
    headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": fault.error_type}
    return Response(
        content, status_code=fault.status, media_type="application/json", headers=headers
    )
