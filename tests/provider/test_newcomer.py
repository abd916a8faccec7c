"""What a newcomer trips on first (issue 20 §6): a misspelled provider, and no emulator running.

Both used to end in a generic message that did not name the fix: LiteLLM's "LLM Provider NOT
provided" with a Huggingface example, and a bare "Connection refused".
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from enum import Enum
from typing import Any

import httpx
import litellm
import pytest

import litellm_sagemaker_openai
from litellm_sagemaker_openai._hints import refused_hint
from litellm_sagemaker_openai._typos import MISSPELLINGS, register_misspellings

MESSAGES = [{"role": "user", "content": "hi"}]
CREDS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "secret",
         "aws_region_name": "us-east-1"}  # fmt: skip


def _call(model: str, mode: str, **kwargs: Any) -> None:
    call = {"model": model, "messages": MESSAGES, "num_retries": 0, **kwargs}
    if mode == "sync":
        litellm.completion(**call)
    elif mode == "stream":
        list(litellm.completion(stream=True, **call))
    else:

        async def run() -> None:
            if mode == "async":
                await litellm.acompletion(**call)
            else:
                async for _ in await litellm.acompletion(stream=True, **call):
                    pass

        asyncio.run(run())


MODES = ["sync", "async", "stream", "astream"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["sagemaker-openai", "SageMaker_OpenAI", "sagemakeropenai"])
def test_a_misspelled_provider_is_answered_with_the_right_spelling(name: str, mode: str) -> None:
    with pytest.raises(litellm.BadRequestError) as info:
        _call(f"{name}/my-endpoint/my-ic", mode)
    message = str(info.value)
    assert "write model='sagemaker_openai/my-endpoint/my-ic'" in message
    assert "Huggingface" not in message and name in message


@pytest.mark.parametrize("name", MISSPELLINGS)
def test_every_misspelling_is_answered(name: str) -> None:
    with pytest.raises(litellm.BadRequestError, match="this provider is spelled sagemaker_openai"):
        _call(f"{name}/ep", "sync")


def test_a_router_does_not_retry_a_misspelling() -> None:
    router = litellm.Router(
        model_list=[{"model_name": "m", "litellm_params": {"model": "sagemaker-openai/ep"}}],
        num_retries=2,
    )
    with pytest.raises(litellm.BadRequestError, match="write model='sagemaker_openai/ep'"):
        router.completion(model="m", messages=MESSAGES)


def test_no_misspelling_is_a_provider_litellm_ships() -> None:
    shipped = {p.value for p in litellm.provider_list if isinstance(p, Enum)}
    shipped |= {p.value for p in litellm.LlmProviders}
    assert not shipped & set(MISSPELLINGS)
    assert "sagemaker_openai" not in MISSPELLINGS


@pytest.fixture
def saved_registry() -> Iterator[None]:
    saved_map, saved_list = list(litellm.custom_provider_map), list(litellm.provider_list)
    try:
        yield
    finally:
        litellm.custom_provider_map[:] = saved_map
        litellm.provider_list[:] = saved_list


@pytest.mark.usefixtures("saved_registry")
def test_registering_again_adds_nothing_and_restores_a_replaced_map() -> None:
    before = [e["provider"] for e in litellm.custom_provider_map]
    litellm_sagemaker_openai.register()
    assert [e["provider"] for e in litellm.custom_provider_map] == before
    assert sum(p == "sagemaker-openai" for p in litellm.provider_list) == 1
    litellm.custom_provider_map = []  # what a caller may do; LiteLLM reads the attribute
    litellm_sagemaker_openai.register()
    ours = [p for p in before if p == "sagemaker_openai" or p in MISSPELLINGS]  # not other tests'
    assert [e["provider"] for e in litellm.custom_provider_map] == ours


@pytest.mark.usefixtures("saved_registry")
def test_a_name_someone_else_registered_is_never_shadowed() -> None:
    theirs = object()
    entries: list[Any] = [{"provider": "sagemaker-openai", "custom_handler": theirs}]
    providers: list[Any] = ["sagemakeropenai", *litellm.LlmProviders]
    register_misspellings(entries, providers, ours=set())
    owners = {e["provider"]: e["custom_handler"] for e in entries}
    assert owners["sagemaker-openai"] is theirs  # already in the map: left alone
    assert "sagemakeropenai" not in owners  # listed by someone else: left alone
    assert set(owners) == set(MISSPELLINGS) - {"sagemakeropenai"}
    assert providers[0] == "sagemaker_openai" and providers.count("sagemakeropenai") == 1


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_no_emulator_behind_the_environment_variable_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, host: str, mode: str
) -> None:
    port = _dead_port()
    monkeypatch.setenv("SAGEMAKER_OPENAI_API_BASE", f"http://{host}:{port}")
    with pytest.raises(litellm.APIConnectionError) as info:
        _call("sagemaker_openai/my-endpoint", mode, timeout=5, **CREDS)
    message = str(info.value)
    assert (
        f"nothing is listening at http://{host}:{port}, where SAGEMAKER_OPENAI_API_BASE points"
        in message
    )
    assert f"sagemaker-openai-emulator --port {port} --reference" in message
    assert "unset SAGEMAKER_OPENAI_API_BASE to call SageMaker in AWS" in message


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_server_behind_api_base_names_api_base(mode: str) -> None:
    port = _dead_port()
    with pytest.raises(litellm.APIConnectionError) as info:
        _call("sagemaker_openai/ep", mode, api_base=f"http://127.0.0.1:{port}/prefix", **CREDS)
    message = str(info.value)
    assert "where api_base points" in message and "remove api_base to call SageMaker" in message
    assert f"request to http://127.0.0.1:{port}/prefix/endpoints/ep/" in message  # as before


@pytest.mark.parametrize(
    ("url", "hinted"),
    [("http://[::1]:8080/endpoints/ep", True), ("http://app.localhost:8080/x", True),
     ("http://127.0.0.2:8080/x", True), ("https://runtime.sagemaker.us-east-1.amazonaws.com/x", False),
     ("http://10.0.0.1:8080/x", False), ("https://vpce-1.sagemaker.internal/x", False)],
)  # fmt: skip
def test_only_a_loopback_address_gets_the_hint(url: str, hinted: bool) -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert (refused_hint(refused, url, from_env=True) is not None) is hinted
    timeout = httpx.ConnectTimeout("timed out")
    assert refused_hint(timeout, url, from_env=True) is None


def test_the_routers_aws_warning_never_appears(caplog: pytest.LogCaptureFixture) -> None:
    from litellm_sagemaker_openai._redact import MisleadingWarningFilter

    deployment = {"model_name": "m", "litellm_params": {"model": "sagemaker_openai/ep", **CREDS}}
    router_logger = logging.getLogger("LiteLLM Router")
    caplog.set_level(logging.WARNING)
    litellm.Router(model_list=[deployment])
    assert "resolves to provider" not in caplog.text
    # The control: without the plugin's filter, LiteLLM does warn (so the test above can fail).
    ours = [f for f in router_logger.filters if isinstance(f, MisleadingWarningFilter)]
    for found in ours:
        router_logger.removeFilter(found)
    try:
        litellm.Router(model_list=[deployment])
    finally:
        for found in ours:
            router_logger.addFilter(found)
    assert "resolves to provider 'sagemaker_openai'" in caplog.text


def test_the_proxy_listens_on_every_interface_without_host() -> None:
    proxy_cli = pytest.importorskip(
        "litellm.proxy.proxy_cli", reason="litellm[proxy] not installed"
    )
    host = next(p for p in proxy_cli.run_server.params if p.name == "host")
    assert host.default == "0.0.0.0"  # what README.md and the docs say, and why they pass --host


OFFLINE_CALL = """
import json, socket, sys
looked_up = []
def offline(host, *args, **kwargs):
    looked_up.append(host)
    raise socket.gaierror(socket.EAI_NONAME, "offline (test)")
socket.getaddrinfo = offline
import litellm, respx
import litellm_sagemaker_openai
url = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1/chat/completions"
answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}
with respx.mock() as mock:
    mock.post(url).respond(200, json=answer)
    litellm.completion(model="sagemaker_openai/ep", messages=[{"role": "user", "content": "x"}],
                       aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="s",
                       aws_region_name="us-east-1")
modules = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "sagemaker"))
print(json.dumps({"looked_up": looked_up, "modules": modules}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("local", [True, False], ids=["local-cost-map", "default"])
def test_an_offline_process_imports_calls_and_fetches_only_without_the_variable(
    local: bool,
) -> None:
    # Offline, importing LiteLLM tries GitHub for its cost map and logs a failure; with
    # LITELLM_LOCAL_MODEL_COST_MAP=True it tries nothing. Name lookups are refused in the child,
    # so nothing leaves the machine. A call through the provider imports neither boto3 (which
    # LiteLLM installs) nor sagemaker-core.
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    if local:
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    done = subprocess.run([sys.executable, "-c", OFFLINE_CALL], capture_output=True, text=True,
                          timeout=180, check=True, env=env)  # fmt: skip
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["modules"] == []
    if local:
        assert seen["looked_up"] == [] and "cost map" not in done.stderr
    else:
        # The lookup is the fact; whether LiteLLM also logs the failure depends on its logging
        # set-up (a CI machine printed nothing), so the text is not asserted.
        assert "raw.githubusercontent.com" in seen["looked_up"]


def test_litellm_brings_boto3() -> None:
    requires = importlib.metadata.requires("litellm") or []
    assert any(r.startswith("boto3") and "extra" not in r for r in requires)
