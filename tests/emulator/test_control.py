"""The emulator's control plane, as botocore's real SageMaker client talks to it.

``ListEndpoints``, ``DescribeEndpoint`` and ``ListInferenceComponents`` over AWS JSON 1.1,
SigV4-signed, on a real loopback socket reached by hostname; paginated with botocore's own
paginators. ``sagemaker-openai-models`` is tested against it in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator.emulator_support import CREDS, OTHER

from conformance._emulator import EmulatorConfig
from conformance._emulator._config import parse_component_flag, parse_endpoint_flag
from conformance._emulator._forward import REFERENCE_URL
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

ENDPOINTS = {"chat-a": REFERENCE_URL, "chat-b": REFERENCE_URL, "embed-x": REFERENCE_URL}
COMPONENTS = {("shared", "qwen-small"): REFERENCE_URL, ("shared", "qwen-large"): REFERENCE_URL,
              ("other", "tiny"): REFERENCE_URL}  # fmt: skip


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    config = EmulatorConfig(
        credentials=(CREDS, OTHER), endpoints=ENDPOINTS, components=COMPONENTS,
        reference=ReferenceConfig(),
    )  # fmt: skip
    with run_emulator(config) as url:
        yield url.replace("127.0.0.1", "localhost")


def sagemaker(
    base_url: str,
    secret: str = CREDS.secret_access_key,
    region: str = "us-east-1",
    validate: bool = True,
) -> Any:
    session = botocore.session.Session()
    return session.create_client(
        "sagemaker", region_name=region, endpoint_url=base_url,
        aws_access_key_id=CREDS.access_key_id, aws_secret_access_key=secret,
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
    )  # fmt: skip


def test_list_endpoints_pages_through_every_endpoint(base_url: str) -> None:
    client = sagemaker(base_url)
    paginator = client.get_paginator("list_endpoints")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    names = [e["EndpointName"] for page in pages for e in page["Endpoints"]]
    assert len(pages) == 3 and sorted(names) == ["chat-a", "chat-b", "embed-x", "other", "shared"]
    first = pages[0]["Endpoints"][0]
    assert first["EndpointStatus"] == "InService"
    assert (
        first["EndpointArn"]
        == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{first['EndpointName']}"
    )
    assert first["CreationTime"].year >= 2024  # a timestamp botocore parsed
    assert pages[0]["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"NameContains": "CHAT"}, ["chat-a", "chat-b"]),
     ({"StatusEquals": "InService", "SortBy": "Name", "SortOrder": "Ascending"},
      ["chat-a", "chat-b", "embed-x", "other", "shared"]),
     ({"StatusEquals": "Failed"}, [])],
)  # fmt: skip
def test_list_endpoints_filters_and_sorts(
    base_url: str, params: dict[str, Any], expected: list[str]
) -> None:
    names = [e["EndpointName"] for e in sagemaker(base_url).list_endpoints(**params)["Endpoints"]]
    assert names == expected if "SortBy" in params else sorted(names) == expected


def test_describe_endpoint_tells_its_instances(base_url: str) -> None:
    described = sagemaker(base_url).describe_endpoint(EndpointName="chat-a")
    assert described["EndpointStatus"] == "InService" and described["EndpointName"] == "chat-a"
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic" and variant["CurrentInstanceCount"] == 1


def test_an_unknown_endpoint_is_a_validation_exception(base_url: str) -> None:
    with pytest.raises(ClientError) as info:
        sagemaker(base_url).describe_endpoint(EndpointName="nope")
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException" and "nope" in error["Message"]


def test_list_inference_components_filters_by_endpoint(base_url: str) -> None:
    client = sagemaker(base_url)
    paginator = client.get_paginator("list_inference_components")
    every = [c for page in paginator.paginate(PaginationConfig={"PageSize": 1})
             for c in page["InferenceComponents"]]  # fmt: skip
    assert sorted((c["EndpointName"], c["InferenceComponentName"]) for c in every) == sorted(
        COMPONENTS
    )
    shared = client.list_inference_components(EndpointNameEquals="shared")["InferenceComponents"]
    assert sorted(c["InferenceComponentName"] for c in shared) == ["qwen-large", "qwen-small"]
    assert {c["InferenceComponentStatus"] for c in shared} == {"InService"}
    assert not client.list_inference_components(VariantNameEquals="Other")["InferenceComponents"]


@pytest.mark.parametrize(
    ("client_args", "code"),
    [({"secret": "not-the-secret"}, "InvalidSignatureException"),
     ({"region": "eu-west-1"}, "InvalidSignatureException")],
)  # fmt: skip
def test_only_trusted_signatures_are_answered(
    base_url: str, client_args: dict[str, str], code: str
) -> None:
    with pytest.raises(ClientError) as info:
        sagemaker(base_url, **client_args).list_endpoints()
    assert info.value.response["Error"]["Code"] == code


def test_unsigned_unknown_or_malformed_requests_are_refused(base_url: str) -> None:
    unsigned = httpx.post(
        base_url + "/", headers={"X-Amz-Target": "SageMaker.ListEndpoints"}, content=b"{}"
    )
    assert unsigned.status_code == 401
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"
    client = sagemaker(base_url, validate=False)
    with pytest.raises(ClientError) as info:
        client.list_endpoints(MaxResults=0)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        client.list_models()  # signed, but not one of the three operations
    assert info.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "SageMaker.ListModels" in info.value.response["Error"]["Message"]


def test_a_bad_pagination_token_is_refused(base_url: str) -> None:
    with pytest.raises(ClientError) as info:
        sagemaker(base_url).list_endpoints(NextToken="not-a-token")
    assert info.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize(
    ("flag", "parse", "expected"),
    [("chat-a", parse_endpoint_flag, ("chat-a", REFERENCE_URL)),
     ("chat-a=http://127.0.0.1:9000", parse_endpoint_flag, ("chat-a", "http://127.0.0.1:9000")),
     ("ep/ic", parse_component_flag, (("ep", "ic"), REFERENCE_URL))],
)  # fmt: skip
def test_a_name_without_a_url_is_served_by_the_reference(
    flag: str, parse: Any, expected: Any
) -> None:
    assert parse(flag) == expected


def test_a_name_without_a_url_needs_the_reference() -> None:
    with pytest.raises(ValueError, match="add --reference"):
        EmulatorConfig(credentials=(CREDS,), endpoints={"chat-a": REFERENCE_URL})


def test_a_declared_name_answers_on_the_route(base_url: str) -> None:
    from emulator.emulator_support import mint

    reply = httpx.post(
        f"{base_url}/endpoints/shared/inference-components/qwen-small/openai/v1/chat/completions",
        headers={"Authorization": f"Bearer {mint(CREDS)}"},
        json={"model": "", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]


def test_a_bearer_token_does_not_open_the_control_plane(base_url: str) -> None:
    from emulator.emulator_support import mint

    answer = httpx.post(
        base_url + "/", headers={"Authorization": f"Bearer {mint(CREDS)}",
                                 "X-Amz-Target": "SageMaker.ListEndpoints"}, content=b"{}",
    )  # fmt: skip
    assert answer.status_code == 401 and "location" not in answer.headers
    assert answer.headers["x-amzn-errortype"] == "IncompleteSignatureException"
