"""SageMaker's control plane, as far as discovery needs it: three read-only operations.

``ListEndpoints``, ``DescribeEndpoint`` and ``ListInferenceComponents`` over the AWS JSON 1.1
protocol (``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``), answered from the
emulator's own configuration: every configured endpoint and inference component is
``InService`` on one instance, in the emulator's region, since the emulator started. Requests
must be SigV4-signed by a trusted test key (``_sigv4.py``), as botocore's SageMaker client
signs them. Shapes follow botocore's service model; where SageMaker's own wording of an error
is not documented, it is marked inferred (docs/local-testing/emulator.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._config import EmulatorConfig
from ._sigv4 import verify_request
from ._tokens import TokenRejected

ACCOUNT: Final = "123456789012"  # the emulator's account, in ARNs
CONTENT_TYPE: Final = "application/x-amz-json-1.1"
VARIANT: Final = "AllTraffic"
TARGET_PREFIX: Final = "SageMaker."
_MAX_RESULTS: Final = 100
_DEFAULT_RESULTS: Final = 10


class ControlError(Exception):
    """An AWS JSON 1.1 error: ``{"__type", "message"}`` with the HTTP status."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type, self.message, self.status = error_type, message, status


def _answer(status: int, body: Mapping[str, Any], extra: Mapping[str, str] = {}) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4()), **extra}
    return JSONResponse(dict(body), status_code=status, headers=headers, media_type=CONTENT_TYPE)


def _error(exc: ControlError) -> Response:
    body = {"__type": exc.error_type, "message": exc.message}
    return _answer(exc.status, body, {"x-amzn-ErrorType": exc.error_type})


def _page(items: list[dict[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    """One page of ``items`` after ``NextToken``, at most ``MaxResults`` long."""
    limit = params.get("MaxResults", _DEFAULT_RESULTS)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _MAX_RESULTS:
        raise ControlError("ValidationException", f"MaxResults must be 1 to {_MAX_RESULTS}")
    start = 0
    token = params.get("NextToken")
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode("ascii"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ControlError("ValidationException", "Invalid pagination token") from None
    page: dict[str, Any] = {"items": items[start : start + limit]}
    if start + limit < len(items):
        page["NextToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return page


def _filtered(
    items: list[dict[str, Any]], params: Mapping[str, Any], name_key: str, status_key: str
) -> list[dict[str, Any]]:
    contains = str(params.get("NameContains") or "").lower()
    status = params.get("StatusEquals")
    kept = [
        item
        for item in items
        if contains in item[name_key].lower() and status in (None, item[status_key])
    ]
    reverse = params.get("SortOrder", "Descending") == "Descending"
    key = "CreationTime" if params.get("SortBy", "CreationTime") == "CreationTime" else name_key
    # Every entry was created when the emulator started: names break the tie, stably.
    return sorted(kept, key=lambda item: (item[key], item[name_key]), reverse=reverse)


class ControlPlane:
    """The three operations, over one emulator configuration."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._started = config.clock()
        self._operations: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "ListEndpoints": self.list_endpoints,
            "DescribeEndpoint": self.describe_endpoint,
            "ListInferenceComponents": self.list_inference_components,
        }

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self._config.region}:{ACCOUNT}:{kind}/{name.lower()}"

    def _endpoint_names(self) -> list[str]:
        config = self._config
        return sorted({*config.endpoints, *(ep for ep, _ in config.components)})

    def _endpoint(self, name: str) -> dict[str, Any]:
        return {
            "EndpointName": name,
            "EndpointArn": self._arn("endpoint", name),
            "CreationTime": self._started,
            "LastModifiedTime": self._started,
            "EndpointStatus": "InService",
        }

    def list_endpoints(self, params: Mapping[str, Any]) -> dict[str, Any]:
        endpoints = [self._endpoint(name) for name in self._endpoint_names()]
        page = _page(_filtered(endpoints, params, "EndpointName", "EndpointStatus"), params)
        return {"Endpoints": page.pop("items"), **page}

    def describe_endpoint(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params.get("EndpointName")
        if not isinstance(name, str) or name not in self._endpoint_names():
            # Inferred wording: SageMaker answers an unknown endpoint with ValidationException.
            raise ControlError("ValidationException", f'Could not find endpoint "{name}".')
        variant = {
            "VariantName": VARIANT,
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        }
        return {
            **self._endpoint(name),
            "EndpointConfigName": name,
            "ProductionVariants": [variant],
        }

    def list_inference_components(self, params: Mapping[str, Any]) -> dict[str, Any]:
        endpoint = params.get("EndpointNameEquals")
        variant = params.get("VariantNameEquals")
        components = [
            {
                "InferenceComponentName": component,
                "InferenceComponentArn": self._arn("inference-component", component),
                "EndpointName": ep,
                "EndpointArn": self._arn("endpoint", ep),
                "VariantName": VARIANT,
                "InferenceComponentStatus": "InService",
                "CreationTime": self._started,
                "LastModifiedTime": self._started,
            }
            for ep, component in sorted(self._config.components)
            if endpoint in (None, ep) and variant in (None, VARIANT)
        ]
        filtered = _filtered(
            components, params, "InferenceComponentName", "InferenceComponentStatus"
        )
        page = _page(filtered, params)
        return {"InferenceComponents": page.pop("items"), **page}

    async def handle(self, request: Request, body: bytes) -> Response:
        """Answer one ``POST /``: verify its signature, then run its operation."""
        try:
            self._verify(request, body)
            target = request.headers.get("x-amz-target", "")
            operation = self._operations.get(target.removeprefix(TARGET_PREFIX))
            if not target.startswith(TARGET_PREFIX) or operation is None:
                raise ControlError(
                    "UnknownOperationException",
                    f"the emulator's control plane serves SageMaker.ListEndpoints, "
                    f"SageMaker.DescribeEndpoint and SageMaker.ListInferenceComponents, not "
                    f"{target or '(no X-Amz-Target)'}",
                )
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = None
            if not isinstance(params, dict):
                raise ControlError("SerializationException", "the body is not a JSON object")
            return _answer(200, operation(params))
        except ControlError as exc:
            return _error(exc)
        except TokenRejected as exc:
            return _error(ControlError(exc.error_type, exc.message, exc.status))

    def _verify(self, request: Request, body: bytes) -> None:
        config = self._config
        verify_request(
            request, body, region=config.region, credentials=config.credentials, now=config.clock()
        )
