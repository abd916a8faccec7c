"""A real ``litellm`` proxy: per-deployment ``model_info`` (capabilities, context window) shows in
``/model/info`` and drives the context-window pre-check; cost headers; and where an
``aws_external_id`` is visible.

Upstream is the emulator with the reference container, behind a recorder that counts what
reached it; roles are assumed against a fake STS in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from provider.sts_support import ROLE, FakeSTS, fake_sts
from security.security_support import Recorder, proxy_process

from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app
from conformance._reference import ReferenceConfig
from conformance._wire._serve import serve_app

pytestmark = pytest.mark.proxy
MASTER_KEY = "sk-metadata-" + "0123456789abcdef" * 2
BASE = TestCredentials("AKIAMETADATAEXAMPLE1", "metadata/secret+key/EXAMPLE0123456789ab")
STS = TestCredentials("ASIASTSROLEEXAMPLE01", "sts-secret-key-EXAMPLE")  # what FakeSTS hands out
INLINE_EXTERNAL_ID = "ext-inline-EXAMPLE-7"
PROFILE_EXTERNAL_ID = "ext-profile-EXAMPLE-42"
PRICES = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
DECLARED = {"mode": "chat", "max_input_tokens": 200, "supports_function_calling": True,
            "supports_vision": False}  # fmt: skip
AWS_CONFIG = f"""[profile smo-role]
role_arn = {ROLE}
source_profile = smo-base
external_id = {PROFILE_EXTERNAL_ID}
region = us-east-1
[profile smo-base]
aws_access_key_id = {BASE.access_key_id}
aws_secret_access_key = {BASE.secret_access_key}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Recorder]]:
    workdir = tmp_path_factory.mktemp("proxy-metadata")
    (workdir / "aws-config").write_text(AWS_CONFIG)
    emulator = EmulatorConfig(credentials=(BASE, STS), reference=ReferenceConfig())
    recorder = Recorder(create_emulator_app(emulator))
    with fake_sts() as sts, serve_app(recorder) as upstream:
        common = {"api_base": upstream, "aws_region_name": "us-east-1"}
        keys = {
            "aws_access_key_id": BASE.access_key_id,
            "aws_secret_access_key": BASE.secret_access_key,
        }
        deployments: list[dict[str, Any]] = [
            {"model_name": "declared", "model_info": DECLARED,
             "litellm_params": {"model": "sagemaker_openai/meta-declared", **common, **keys, **PRICES}},
            {"model_name": "undeclared",
             "litellm_params": {"model": "sagemaker_openai/meta-undeclared", **common, **keys}},
            {"model_name": "role-inline", "litellm_params": {
                "model": "sagemaker_openai/meta-role", **common, **keys, "aws_role_name": ROLE,
                "aws_external_id": INLINE_EXTERNAL_ID, "aws_sts_endpoint": sts}},
            {"model_name": "role-profile", "litellm_params": {
                "model": "sagemaker_openai/meta-profile", **common, "aws_profile_name": "smo-role"}},
        ]  # fmt: skip
        config = {
            "model_list": deployments,
            "router_settings": {"enable_pre_call_checks": True},
            "litellm_settings": {"num_retries": 0, "custom_provider_map": [
                {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
        }  # fmt: skip
        env = {"LITELLM_MASTER_KEY": MASTER_KEY, "AWS_CONFIG_FILE": str(workdir / "aws-config"),
               "AWS_ENDPOINT_URL_STS": sts, "LITELLM_LOG": "ERROR"}  # fmt: skip
        with proxy_process(config, workdir, env) as proxy:
            headers = {"Authorization": f"Bearer {MASTER_KEY}"}
            with httpx.Client(base_url=proxy, headers=headers, timeout=60) as client:
                yield client, recorder


def _info(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/model/info")
    assert response.status_code == 200, response.text
    return {entry["model_name"]: entry for entry in response.json()["data"]}


def _chat(client: httpx.Client, model: str, text: str = "hello") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return client.post("/v1/chat/completions", json=body)


def test_model_info_shows_what_the_deployment_declares(
    setup: tuple[httpx.Client, Recorder],
) -> None:
    client, _ = setup
    info = _info(client)
    declared = info["declared"]["model_info"]
    assert {key: declared[key] for key in DECLARED} == DECLARED
    assert declared["litellm_provider"] == "sagemaker_openai"
    assert declared["input_cost_per_token"] == PRICES["input_cost_per_token"]
    # Nothing is guessed for a deployment that declares nothing.
    undeclared = info["undeclared"]["model_info"]
    assert undeclared.get("mode") is None and not undeclared.get("supports_function_calling")


def test_context_window_precheck_answers_400_before_the_container(
    setup: tuple[httpx.Client, Recorder],
) -> None:
    client, recorder = setup
    before = len(recorder.seen)
    response = _chat(client, "declared", "word " * 400)
    assert response.status_code == 400, response.text
    assert "context" in response.text.lower() and "200" in response.text
    assert len(recorder.seen) == before  # refused by the proxy, not by the container


def test_cost_header_uses_the_declared_prices(setup: tuple[httpx.Client, Recorder]) -> None:
    client, _ = setup
    response = _chat(client, "declared")
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    expected = usage["prompt_tokens"] * 1e-6 + usage["completion_tokens"] * 2e-6
    assert float(response.headers["x-litellm-response-cost"]) == pytest.approx(expected)


def test_inline_external_id_is_shown_by_model_info(setup: tuple[httpx.Client, Recorder]) -> None:
    # Documented behaviour (docs/provider/errors.md): AWS does not treat the external id as a
    # secret, and the proxy masks only keys named like one. The plugin cannot change this page.
    client, _ = setup
    assert _chat(client, "role-inline").status_code == 200
    assert any(call.get("ExternalId") == INLINE_EXTERNAL_ID for call in FakeSTS.calls)
    params = _info(client)["role-inline"]["litellm_params"]
    assert params["aws_external_id"] == INLINE_EXTERNAL_ID


def test_profile_keeps_the_external_id_out_of_model_info(
    setup: tuple[httpx.Client, Recorder],
) -> None:
    client, _ = setup
    response = _chat(client, "role-profile")
    assert response.status_code == 200, response.text
    assert any(call.get("ExternalId") == PROFILE_EXTERNAL_ID for call in FakeSTS.calls)
    page = client.get("/model/info").text
    assert PROFILE_EXTERNAL_ID not in page and "smo-role" in page
