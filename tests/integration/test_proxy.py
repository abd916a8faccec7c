"""A real ``litellm --config`` proxy process loads the plugin from config.yaml and streams through it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance._emulator import TestCredentials

pytestmark = pytest.mark.proxy
MASTER_KEY = "sk-test-" + "0123456789abcdef" * 2
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(
    emulator: str, test_creds: TestCredentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("proxy")
    params = {"api_base": emulator, "aws_region_name": "us-east-1",
              "aws_access_key_id": test_creds.access_key_id, "aws_secret_access_key": test_creds.secret_access_key}  # fmt: skip
    config = {
        "model_list": [
            {"model_name": "smo", "litellm_params": {"model": "sagemaker_openai/demo-endpoint", **params}},
            {"model_name": "smo-ic", "litellm_params": {"model": "sagemaker_openai/demo-endpoint/demo-ic", **params}},
        ],
        "litellm_settings": {"custom_provider_map": [
            {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
    }  # fmt: skip
    (workdir / "config.yaml").write_text(json.dumps(config))  # JSON is valid YAML
    port = _free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true"}  # fmt: skip
    litellm_cli = Path(sys.executable).with_name("litellm")
    log = (workdir / "proxy.log").open("w")
    proc = subprocess.Popen([str(litellm_cli), "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", "1"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"proxy exited: {(workdir / 'proxy.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("proxy did not start within 90 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_proxy_streams_tool_calls_and_usage_through_the_plugin(proxy: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="smo", messages=[{"role": "user", "content": "weather in Paris"}], tools=[WEATHER],
        tool_choice="required", stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id and calls[0].function.name == "get_weather"
    arguments = "".join(tc.function.arguments or "" for tc in calls)
    assert json.loads(arguments)
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] == ["tool_calls"]
    usage = [c.usage for c in chunks if c.usage]
    assert (
        usage
        and usage[-1].total_tokens == usage[-1].prompt_tokens + usage[-1].completion_tokens > 0
    )


def test_proxy_inference_component_and_nonstream(proxy: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="smo-ic", messages=[{"role": "user", "content": "hello there"}]
    )
    assert reply.choices[0].message.content and reply.usage.total_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="smo-ic", messages=[{"role": "user", "content": "hello there"}], stream=True) if c.choices)  # fmt: skip
    assert text == reply.choices[0].message.content


def test_proxy_maps_route_errors_to_http_statuses(proxy: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="smo", messages=[{"role": "user", "content": "word " * 20000}], stream=True
        )
    assert "context" in str(info.value).lower()
