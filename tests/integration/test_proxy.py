"""A real ``litellm --config`` proxy process loads the plugin from config.yaml and streams through it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.proxy_support import MASTER_KEY, run_proxy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance import run_emulator, serve_app
from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._reference import ReferenceConfig

# Past the plugin's brief wait in LiteLLM's executor (_open.py): the open is handed over.
LATE_S = 0.8


async def _late_refusal(request: Request) -> JSONResponse:
    await asyncio.sleep(LATE_S)
    return JSONResponse(
        {"message": "Rate exceeded"}, 429, headers={"x-amzn-ErrorType": "ThrottlingException"}
    )


pytestmark = pytest.mark.proxy
# A callback the proxy loads from its config's folder: one line per standard logging payload, the
# record the proxy's spend tracking writes (to its database, when it has one).
RECORDER = """
import json
from pathlib import Path

from litellm.integrations.custom_logger import CustomLogger


class Recorder(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        payload = kwargs["standard_logging_object"]
        with Path(__file__).with_name("payloads.jsonl").open("a") as out:
            out.write(json.dumps({"id": payload["id"], "cost": payload["response_cost"]}) + "\\n")


recorder = Recorder()
"""
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip


@pytest.fixture(scope="module")
def proxy_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("proxy")
    (workdir / "cost_recorder.py").write_text(RECORDER)
    return workdir


@pytest.fixture(scope="module")
def proxy(emulator: str, test_creds: TestCredentials, proxy_workdir: Path) -> Iterator[str]:
    params = {"api_base": emulator, "aws_region_name": "us-east-1",
              "aws_access_key_id": test_creds.access_key_id, "aws_secret_access_key": test_creds.secret_access_key}  # fmt: skip
    refusing = Starlette(
        routes=[
            Route("/endpoints/late/openai/v1/chat/completions", _late_refusal, methods=["POST"])
        ]
    )
    slow = EmulatorConfig(
        region="us-east-1",
        credentials=(test_creds,),
        reference=ReferenceConfig(ttft_ms=LATE_S * 1000, headers_after_ttft=True),
    )
    with contextlib.ExitStack() as stack:
        late_base = stack.enter_context(serve_app(refusing)).replace("127.0.0.1", "localhost")
        slow_base = stack.enter_context(run_emulator(slow))
        config = {
            "model_list": [
                {"model_name": "smo", "litellm_params": {"model": "sagemaker_openai/demo-endpoint", **params}},
                {"model_name": "smo-ic", "litellm_params": {"model": "sagemaker_openai/demo-endpoint/demo-ic", **params}},
                {"model_name": "smo-late", "litellm_params": {"model": "sagemaker_openai/late", **params, "api_base": late_base}},
                {"model_name": "smo-slow", "litellm_params": {"model": "sagemaker_openai/slow", **params, "api_base": slow_base}},
                {"model_name": "smo-hourly", "litellm_params": {"model": "sagemaker_openai/hourly-endpoint",
                                                                "instance_cost_per_hour": 3600, **params}},
            ],
            "litellm_settings": {"custom_provider_map": [
                {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}],
                "callbacks": ["cost_recorder.recorder"]},
        }  # fmt: skip
        with run_proxy(config, proxy_workdir) as base:
            yield base


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


def test_proxy_answers_a_late_refusal_with_its_status(proxy: str) -> None:
    """A 429 that comes after the plugin stopped waiting in LiteLLM's executor still reaches the
    client as an HTTP 429: the proxy reads a stream's first chunk before it answers."""
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="smo-late", messages=[{"role": "user", "content": "hi"}], stream=True
        )


def test_proxy_streams_from_a_container_whose_headers_come_late(proxy: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=MASTER_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="smo-slow", messages=[{"role": "user", "content": "late hello"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "You said: late hello"


def _payload_cost(proxy_workdir: Path, response_id: str) -> float:
    log = proxy_workdir / "payloads.jsonl"
    deadline = time.monotonic() + 30  # the proxy logs after it has answered
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                record = json.loads(line)
                if record["id"] == response_id:
                    return float(record["cost"])
        time.sleep(0.1)
    raise AssertionError(f"no logging payload for {response_id} in {log}")


def test_proxy_reports_the_instance_cost_in_its_header_body_and_spend_payload(
    proxy: str, proxy_workdir: Path
) -> None:
    import httpx

    workdir = proxy_workdir
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    request = {"model": "smo-hourly", "messages": [{"role": "user", "content": "one two three"}]}
    reply = httpx.post(f"{proxy}/v1/chat/completions", headers=headers, json=request, timeout=60)
    body = reply.json()
    cost = float(reply.headers["x-litellm-response-cost"])
    assert cost > 0 and body["usage"]["cost"] == pytest.approx(cost)
    assert _payload_cost(workdir, body["id"]) == pytest.approx(cost)
    # A stream's headers leave before its cost is known: it is in the last chunk's usage.
    stream = {**request, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{proxy}/v1/chat/completions", headers=headers, json=stream,
                      timeout=60) as answer:  # fmt: skip
        assert "x-litellm-response-cost" not in answer.headers
        events = [
            json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: {")
        ]
    stated = events[-1]["usage"]["cost"]
    assert stated > 0 and _payload_cost(workdir, events[-1]["id"]) == pytest.approx(stated)
