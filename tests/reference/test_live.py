"""The reference container over real loopback sockets: pacing, buffering, big bodies, SDK, CLI."""

from __future__ import annotations

import itertools
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from conformance._reference import ReferenceConfig, create_reference_app
from conformance._reference.cli import main
from conformance._wire._serve import serve_app

REPO = Path(__file__).resolve().parents[2]


def _serve(**config: Any) -> Any:
    return serve_app(create_reference_app(ReferenceConfig(**config)))


def _timed_events(url: str, body: dict[str, Any]) -> tuple[float, list[tuple[float, str]]]:
    """POST a stream; return the start time and (arrival time, event) for every SSE event."""
    events: list[tuple[float, str]] = []
    buffer = b""
    with httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            assert response.headers["transfer-encoding"] == "chunked"
            for data in response.iter_raw():
                now = time.perf_counter()
                buffer += data
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    events.append((now, event.decode()))
    return started, events


def _content_times(events: list[tuple[float, str]]) -> list[float]:
    times = []
    for arrived, event in events:
        choices = json.loads(event[6:])["choices"] if event.startswith("data: {") else []
        if choices and choices[0]["delta"].get("content"):
            times.append(arrived)
    return times


def test_serve_app_starts_and_stops_cleanly() -> None:
    # Other fixtures (e.g. a session-wide emulator) may own uvicorn threads: compare, don't count.
    before = set(threading.enumerate())
    with _serve() as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert httpx.get(f"{url}/ping").status_code == 200
        port = int(url.rsplit(":", 1)[1])
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("uvicorn:")]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/ping")


def test_stream_is_paced_by_ttft_and_itl() -> None:
    body = {"model": "", "messages": [{"role": "user", "content": "a b c d e f"}], "stream": True}
    with _serve(ttft_ms=150, itl_ms=60) as url:
        started, events = _timed_events(url, body)
    times = _content_times(events)
    assert len(times) == 8  # "You", " said:", " a" ... " f"
    assert times[0] - started >= 0.14
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.03 for gap in gaps), gaps
    assert times[-1] - times[0] >= 7 * 0.06 * 0.9
    assert len({round(t, 3) for t in times}) == len(times)
    assert events[-1][1] == "data: [DONE]"


def test_buffered_stream_arrives_in_one_burst() -> None:
    body = {"model": "", "messages": [{"role": "user", "content": "a b c d e f"}], "stream": True}
    config = {"ttft_ms": 100, "itl_ms": 60, "faults": frozenset({"buffered"})}
    with _serve(**config) as url, httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            headers_at = time.perf_counter()
            arrivals = [(time.perf_counter(), len(data)) for data in response.iter_raw()]
    assert headers_at - started >= 0.1 + 7 * 0.06 * 0.9
    assert arrivals[-1][0] - arrivals[0][0] < 0.03
    assert sum(size for _, size in arrivals) > 1000


def test_a_six_megabyte_body_is_accepted_by_the_transport() -> None:
    text = "word " * (5_900_000 // 5)
    body = {"model": "", "messages": [{"role": "user", "content": text}]}
    with _serve() as url:
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert len(json.dumps(body)) > 5_800_000
    assert response.status_code == 400
    assert "maximum context length" in response.json()["error"]["message"]
    assert time.perf_counter() - started < 10


def test_openai_sdk_streams_tool_calls_and_usage() -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        },
        {"type": "function", "function": {"name": "get_time", "parameters": {}}},
    ]
    messages: Any = [{"role": "user", "content": "get_weather city=Rio-de-Janeiro and get_time"}]
    with _serve(itl_ms=1) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        stream = client.chat.completions.create(
            model="",
            messages=messages,
            tools=tools,
            stream=True,
            stream_options={"include_usage": True},
        )
        calls: dict[int, dict[str, str]] = {}
        finishes, usage = [], None
        for chunk in stream:
            if chunk.usage is not None:
                assert chunk.choices == []
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.finish_reason:
                    finishes.append(choice.finish_reason)
                for fragment in choice.delta.tool_calls or []:
                    call = calls.setdefault(fragment.index, {"name": "", "arguments": ""})
                    if fragment.function and fragment.function.name:
                        call["name"] = fragment.function.name
                    if fragment.function and fragment.function.arguments:
                        call["arguments"] += fragment.function.arguments
        with client.chat.completions.stream(model="", messages=messages, tools=tools) as helper:
            final = helper.get_final_completion()
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Rio-de-Janeiro"}
    assert json.loads(calls[1]["arguments"]) == {}
    assert finishes == ["tool_calls"]
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    tool_calls = final.choices[0].message.tool_calls or []
    assert [c.function.name for c in tool_calls] == ["get_weather", "get_time"]


@pytest.mark.asyncio
async def test_async_openai_sdk_text_reasoning_and_mid_stream_error() -> None:
    with _serve(reasoning=True) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        completion = await client.chat.completions.create(
            model="", messages=[{"role": "user", "content": "héllo"}], max_completion_tokens=50
        )
        stream = await client.chat.completions.create(
            model="", messages=[{"role": "user", "content": "héllo"}], stream=True
        )
        reasoning = "".join(
            [
                getattr(chunk.choices[0].delta, "reasoning_content", None) or ""
                async for chunk in stream
            ]
        )
    assert completion.choices[0].message.content == "You said: héllo"
    assert completion.model == "reference-model"
    assert reasoning == getattr(completion.choices[0].message, "reasoning_content", None)
    with _serve(faults=frozenset({"mid_stream_error"})) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        stream = await client.chat.completions.create(
            model="", messages=[{"role": "user", "content": "a b c"}], stream=True
        )
        with pytest.raises(openai.APIError, match="mid-stream"):
            async for _ in stream:
                pass


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance._reference.cli", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
    if not match:
        process.kill()
        pytest.fail(f"unexpected first line {line!r}; stderr: {process.communicate()[1]}")
    return process, match.group(1)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_cli_serves_and_exits_cleanly_on_signals(stop_signal: signal.Signals) -> None:
    process, url = _start_cli("--itl-ms", "1", "--fault", "no_done", "--fault", "unstable_id")
    try:
        assert httpx.get(f"{url}/ping").status_code == 200
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        text = httpx.post(f"{url}/invocations", json=body).text
        assert "[DONE]" not in text and text.startswith("data: {")
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert out == ""  # the one `listening on` line was read already
    assert "Traceback" not in err


def test_cli_rejects_unknown_faults_and_busy_ports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--fault", "bogus"])
    assert info.value.code == 2
    assert "no_done" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SystemExit) as info:
            main(["--port", str(busy.getsockname()[1])])
    assert info.value.code == 2
    assert "pick another port" in capsys.readouterr().err
