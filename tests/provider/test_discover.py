"""Discovery (``_discover.py``) against botocore's Stubber: which endpoints and components
become deployments, which calls it makes, and the config it writes.

The command end to end, against the emulator's control plane and a real proxy:
tests/integration/test_discovery.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.stub import Stubber

from litellm_sagemaker_openai._discover import Deployment, discover, printable, render_config

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def endpoint(name: str, status: str = "InService") -> dict[str, Any]:
    return {"EndpointName": name, "EndpointArn": f"{ARN}:endpoint/{name}", "CreationTime": WHEN,
            "LastModifiedTime": WHEN, "EndpointStatus": status}  # fmt: skip


def described(name: str, *counts: int, status: str = "InService") -> dict[str, Any]:
    variants = [{"VariantName": f"v{i}", "CurrentInstanceCount": n} for i, n in enumerate(counts)]
    return {**endpoint(name, status), "EndpointConfigName": name, "ProductionVariants": variants}


def component(ep: str, name: str, status: str = "InService") -> dict[str, Any]:
    return {"InferenceComponentName": name, "InferenceComponentArn": f"{ARN}:inference-component/{name}",
            "EndpointName": ep, "EndpointArn": f"{ARN}:endpoint/{ep}", "VariantName": "AllTraffic",
            "InferenceComponentStatus": status, "CreationTime": WHEN, "LastModifiedTime": WHEN}  # fmt: skip


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.Session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x"
    )  # fmt: skip
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def answer(
    stub: Stubber, endpoints: list[dict[str, Any]], components: list[dict[str, Any]]
) -> None:
    stub.add_response("list_inference_components", {"InferenceComponents": components}, {})
    stub.add_response("list_endpoints", {"Endpoints": endpoints}, {"StatusEquals": "InService"})


def test_endpoints_and_in_service_components_become_deployments(stubbed: Any) -> None:
    client, stub = stubbed
    answer(
        stub,
        [endpoint("chat-a"), endpoint("shared"), endpoint("warming")],
        [component("shared", "qwen-small"), component("shared", "qwen-new", "Creating"),
         component("warming", "only-ic", "Creating")],
    )  # fmt: skip
    stub.add_response("describe_endpoint", described("chat-a", 2, 1), {"EndpointName": "chat-a"})
    # "shared" and "warming" host components: they are never described nor served themselves.
    assert discover(client) == [
        Deployment("chat-a", None, 3),
        Deployment("shared", "qwen-small"),
    ]


def test_globs_match_endpoint_and_component_names_before_any_describe(stubbed: Any) -> None:
    client, stub = stubbed
    answer(
        stub,
        [endpoint("chat-a"), endpoint("embed-b"), endpoint("shared")],
        [component("shared", "qwen-small"), component("shared", "llama")],
    )
    stub.add_response("describe_endpoint", described("embed-b", 1), {"EndpointName": "embed-b"})
    found = discover(client, ["embed-*", "qwen-*"])
    assert [d.name for d in found] == ["embed-b", "shared/qwen-small"]


def test_an_endpoint_that_left_service_since_the_listing_is_dropped(stubbed: Any) -> None:
    client, stub = stubbed
    answer(stub, [endpoint("chat-a")], [])
    stub.add_response("describe_endpoint", described("chat-a", 1, status="Updating"),
                      {"EndpointName": "chat-a"})  # fmt: skip
    assert discover(client) == []


def test_names_sagemaker_would_refuse_are_skipped_and_shown_escaped(stubbed: Any) -> None:
    client, stub = stubbed
    answer(stub, [endpoint("evil\x1b[31m"), endpoint("shared")], [component("shared", "a/../b")])
    skipped: list[str] = []
    assert discover(client, skipped=skipped) == []
    assert skipped == [
        "endpoint 'evil\\x1b[31m': not a SageMaker name, skipped",
        "inference component 'a/../b': not a SageMaker name, skipped",
    ]
    assert all(line.isprintable() and line.isascii() for line in skipped)


def test_the_config_reads_back_as_what_was_found() -> None:
    found = [Deployment("chat-a", None, 1), Deployment("null"), Deployment("yes", "on"),
             Deployment("shared", "qwen-small")]  # fmt: skip
    notes = {"chat-a": "probe: FAILED: Boom: line one\nline two \x1b[0m"}
    text = render_config(found, "us-east-1", notes)
    config = yaml.safe_load(text)
    assert [(m["model_name"], m["litellm_params"]) for m in config["model_list"]] == [
        (d.name, {"model": d.model, "aws_region_name": "us-east-1"}) for d in found
    ]
    assert config["litellm_settings"]["custom_provider_map"] == [
        {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}
    ]
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert "  # probe: FAILED: Boom: line one\\nline two \\x1b[0m\n" in text
    assert text.isascii() and "  # chat-a: 1 instance\n" in text
    assert yaml.safe_load(render_config([], "eu-west-1"))["model_list"] == []


def test_printable_keeps_one_short_line() -> None:
    assert printable("a\nb\tc\u2028") == "a\\nb\\tc\\u2028"
    assert printable("x" * 500, limit=10) == "xxxxxxx..."


def test_the_console_script_is_declared() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    declared = re.search(r'^sagemaker-openai-models = "([\w.]+):(\w+)"$', pyproject, re.MULTILINE)
    assert declared, "pyproject.toml [project.scripts] lacks sagemaker-openai-models"
    module, function = declared.groups()
    assert callable(getattr(import_module(module), function))
