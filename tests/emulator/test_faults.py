"""``--fail EP[/IC]=ERROR``: SageMaker's own errors, each with the status and shape of its source.

Statuses and members are read from botocore's sagemaker-runtime service model, so a row that
drifts from it fails here; botocore's own parser reads every answer as AWS SDK users see it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.model import ServiceModel
from emulator.emulator_support import CREDS, bearer

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._errors import FAULTS, parse_fault_flag
from conformance._emulator.cli import build_parser

CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
IC_CHAT = "/endpoints/ic-endpoint/inference-components/ic-one/openai/v1/chat/completions"


def _model() -> ServiceModel:
    loader = botocore.session.get_session().get_component("data_loader")
    return ServiceModel(loader.load_service_model("sagemaker-runtime", "service-2"))


def failing(config: EmulatorConfig, faults: dict[tuple[str, str | None], str]) -> EmulatorConfig:
    return EmulatorConfig(
        credentials=config.credentials,
        endpoints=config.endpoints,
        components=config.components,
        faults=faults,
    )


async def _post(config: EmulatorConfig, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        return await client.post(path, json={"tag": True}, **kwargs)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(FAULTS))
async def test_each_fault_has_its_sources_status_type_and_a_request_id(
    config: EmulatorConfig, name: str
) -> None:
    response = await _post(failing(config, {("demo-endpoint", None): name}), CHAT, headers=bearer())
    fault = FAULTS[name]
    assert (response.status_code, response.headers["x-amzn-errortype"]) == (
        fault.status,
        fault.error_type,
    )
    assert response.headers["x-amzn-requestid"]
    assert "tag" not in response.text  # the stub container never saw it
    shapes = _model().shape_names
    if fault.error_type in shapes:
        shape = _model().shape_for(fault.error_type)
        assert shape.metadata["error"]["httpStatusCode"] == fault.status
        assert set(response.json()) <= {"message", "ErrorCode", *shape.members}
    else:  # ThrottlingException: AWS's common errors, not in the service model
        assert fault.error_type == "ThrottlingException" and fault.status == 400


@pytest.mark.asyncio
async def test_model_error_names_the_container_status_and_its_log_stream(
    config: EmulatorConfig,
) -> None:
    response = await _post(
        failing(config, {("demo-endpoint", None): "ModelError"}), CHAT, headers=bearer()
    )
    body = response.json()
    assert body["OriginalStatusCode"] == 500
    assert json.loads(body["OriginalMessage"])["error"]["message"] == "the container failed"
    assert body["LogStreamArn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/demo-endpoint"
    )
    assert "logEventViewer:group=/aws/sagemaker/Endpoints/demo-endpoint" in body["Message"]


@pytest.mark.asyncio
async def test_a_component_fails_alone_and_is_named(config: EmulatorConfig) -> None:
    broken = failing(config, {("ic-endpoint", "ic-one"): "ValidationError"})
    response = await _post(broken, IC_CHAT, headers=bearer())
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Inference Component ic-one of account 123456789012 not found."
    )
    assert (await _post(broken, CHAT, headers=bearer())).status_code == 200


@pytest.mark.asyncio
async def test_the_token_is_checked_first(config: EmulatorConfig) -> None:
    response = await _post(failing(config, {("demo-endpoint", None): "InternalFailure"}), CHAT)
    assert response.status_code == 401


@pytest.mark.asyncio
async def test_classic_invocations_fail_the_same_way(config: EmulatorConfig) -> None:
    response = await _post(
        failing(config, {("demo-endpoint", None): "ServiceUnavailable"}),
        "/endpoints/demo-endpoint/invocations",
        headers=bearer(),
    )
    assert (response.status_code, response.headers["x-amzn-errortype"]) == (
        503,
        "ServiceUnavailable",
    )


def test_the_flag_parses_and_refuses_with_the_list() -> None:
    assert parse_fault_flag("ep=ModelError") == (("ep", None), "ModelError")
    assert parse_fault_flag("ep/ic=Deleting") == (("ep", "ic"), "Deleting")
    with pytest.raises(ValueError, match="one of ValidationError, Deleting"):
        parse_fault_flag("ep=Nope")
    with pytest.raises(ValueError, match="unknown fault"):
        EmulatorConfig(credentials=(CREDS,), faults={("ep", None): "Nope"})
    assert build_parser().parse_args(["--fail", "a=InternalFailure"]).fail == ["a=InternalFailure"]


def test_the_emulator_docs_table_lists_every_fault_as_the_table_answers_it() -> None:
    page = Path(__file__).parents[2] / "docs" / "local-testing" / "emulator.md"
    section = page.read_text().split("## SageMaker's own errors")[1].split("\n## ")[0]
    rows = {
        cells[0].strip("` "): (int(cells[1]), cells[2].strip("` "))
        for line in section.splitlines()
        if len(cells := line.strip("|").split("|")) >= 3 and cells[1].strip().isdigit()
    }
    assert rows == {name: (fault.status, fault.error_type) for name, fault in FAULTS.items()}
