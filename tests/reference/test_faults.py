"""Every fault switch of the reference container, one deviation each."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

CHAT = "/v1/chat/completions"


async def _stream(ref: Any, body: dict[str, Any], *faults: str, **config: Any) -> Any:
    async with ref.client(faults=frozenset(faults), **config) as client:
        return await client.post(CHAT, json={**body, "stream": True})


async def test_no_done(ref: Any) -> None:
    response = await _stream(ref, ref.body("hi"), "no_done")
    events = ref.events(response.text)
    assert ref.done not in events
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


async def test_wrong_content_type(ref: Any) -> None:
    response = await _stream(ref, ref.body("hi"), "wrong_content_type")
    assert response.headers["content-type"] == "application/json"
    assert ref.chunks(response.text)  # still SSE underneath
    async with ref.client(faults=frozenset({"wrong_content_type"})) as client:
        plain = await client.post(CHAT, json=ref.body("hi"))
    assert plain.json()["object"] == "chat.completion"


async def test_usage_without_include(ref: Any) -> None:
    chunks = ref.chunks((await _stream(ref, ref.body("hi"), "usage_without_include")).text)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert all("usage" not in chunk for chunk in chunks[:-1])


async def test_usage_with_choices(ref: Any) -> None:
    body = ref.body("hi", stream_options={"include_usage": True})
    chunks = ref.chunks((await _stream(ref, body, "usage_with_choices")).text)
    with_usage = [chunk for chunk in chunks if chunk.get("usage")]
    assert with_usage == [chunks[-1]]
    assert chunks[-1]["choices"] and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk["choices"] for chunk in chunks)


async def test_usage_with_choices_also_applies_to_unasked_usage(ref: Any) -> None:
    response = await _stream(ref, ref.body("hi"), "usage_with_choices", "usage_without_include")
    chunks = ref.chunks(response.text)
    assert chunks[-1]["usage"]["completion_tokens"] == 3 and chunks[-1]["choices"]


async def test_tool_delta_no_index(ref: Any) -> None:
    body = ref.body("get_weather city=Paris-Charles-de-Gaulle", tools=[ref.weather_tool])
    chunks = ref.chunks((await _stream(ref, body, "tool_delta_no_index")).text)
    fragments = [f for c in chunks for f in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(fragments) >= 3
    assert all("index" not in fragment for fragment in fragments)
    assert fragments[0]["function"]["name"] == "get_weather"


async def test_unstable_id(ref: Any) -> None:
    body = ref.body("one two", stream_options={"include_usage": True})
    chunks = ref.chunks((await _stream(ref, body, "unstable_id")).text)
    ids = [chunk["id"] for chunk in chunks]
    assert len(set(ids)) == len(ids) and all(i.startswith("chatcmpl-") for i in ids)


async def test_missing_role(ref: Any) -> None:
    chunks = ref.chunks((await _stream(ref, ref.body("hi", n=2), "missing_role")).text)
    assert all("role" not in c["choices"][0]["delta"] for c in chunks)
    assert ref.content(ref.per_choice(chunks)[0]) == "You said: hi"


async def test_event_ping(ref: Any) -> None:
    response = await _stream(ref, ref.body("hi"), "event_ping")
    blocks = response.text.split("\n\n")[:-1]
    pings = [block for block in blocks if block == "event: ping"]
    data = [block for block in blocks if block.startswith("data: ")]
    assert len(pings) == len(data) - 1  # after every data event except [DONE]
    assert len(pings) + len(data) == len(blocks)
    assert blocks[1] == "event: ping" and blocks[-1] == "data: [DONE]"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", b'{"messages": []}'), ("text/plain", b"{}"), ("application/json", b"{")],
)
async def test_server_error_on_bad_request(ref: Any, content_type: str, body: bytes) -> None:
    async with ref.client(faults=frozenset({"server_error_on_bad_request"})) as client:
        bad = await client.post(CHAT, content=body, headers={"Content-Type": content_type})
        good = await client.post(CHAT, json=ref.body())
    assert bad.status_code == 500
    assert set(bad.json()["error"]) == {"message", "type", "param", "code"}
    assert good.status_code == 200


@pytest.mark.parametrize("after", [0, 2, 50])
async def test_mid_stream_error(ref: Any, after: int) -> None:
    body = ref.body("one two three four", stream_options={"include_usage": True})
    response = await _stream(ref, body, "mid_stream_error", mid_stream_error_after=after)
    events = ref.events(response.text)
    assert response.status_code == 200
    assert events[-1] == ref.done and events[-2]["error"]["code"] == 500
    assert set(events[-2]) == {"error"}
    assert set(events[-2]["error"]) == {"message", "type", "param", "code"}
    chunks = events[:-2]
    content = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert len(content) == min(after, 6)  # "You said: one two three four" has 6 tokens
    assert all(c["choices"] and c["choices"][0]["finish_reason"] is None for c in chunks)


async def test_mid_stream_error_with_no_done_just_ends(ref: Any) -> None:
    response = await _stream(ref, ref.body("x"), "mid_stream_error", "no_done")
    events = ref.events(response.text)
    assert "error" in events[-1] and ref.done not in events


async def test_mid_stream_error_leaves_non_stream_alone(ref: Any) -> None:
    async with ref.client(faults=frozenset({"mid_stream_error"})) as client:
        response = await client.post(CHAT, json=ref.body("x"))
    assert response.status_code == 200 and response.json()["choices"]


async def test_reject_empty_model(ref: Any) -> None:
    async with ref.client(faults=frozenset({"reject_empty_model"})) as client:
        empty = await client.post(CHAT, json=ref.body(model=""))
        empty_stream = await client.post(CHAT, json=ref.body(model="", stream=True))
        named = await client.post(CHAT, json=ref.body(model="my-endpoint"))
    for response in (empty, empty_stream):
        assert response.status_code == 404
        assert response.json()["error"]["param"] == "model"
    assert named.status_code == 200


async def test_no_ping(ref: Any) -> None:
    async with ref.client(faults=frozenset({"no_ping"})) as client:
        ping = await client.get("/ping")
        chat = await client.post(CHAT, json=ref.body())
    assert ping.status_code == 404 and "error" in ping.json()
    assert chat.status_code == 200


async def test_jsonlines(ref: Any) -> None:
    body = ref.body("hi there", stream_options={"include_usage": True})
    normal = ref.chunks((await _stream(ref, body)).text)
    response = await _stream(ref, body, "jsonlines", "event_ping")
    assert response.headers["content-type"] == "application/jsonlines"
    assert response.text.endswith("}\n") and "data:" not in response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    strip = [{**chunk, "id": "", "created": 0} for chunk in normal]
    assert [{**line, "id": "", "created": 0} for line in lines] == strip


async def test_buffered_in_process_still_waits_and_sends_everything(ref: Any) -> None:
    started = time.perf_counter()
    response = await _stream(ref, ref.body("a b c d"), "buffered", ttft_ms=50, itl_ms=20)
    assert time.perf_counter() - started >= 0.05 + 5 * 0.02 - 0.01
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ref.content(ref.per_choice(ref.chunks(response.text))[0]) == "You said: a b c d"


async def test_tool_call_again(ref: Any) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}  # fmt: skip
    messages = [
        {"role": "user", "content": "get_weather city=Paris"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
    ]
    body = {**ref.body(), "messages": messages, "tools": [ref.weather_tool]}
    async with ref.client(faults=frozenset({"tool_call_again"})) as client:
        again = (await client.post(CHAT, json=body)).json()["choices"][0]
        refused = (await client.post(CHAT, json={**body, "tool_choice": "none"})).json()
    assert again["finish_reason"] == "tool_calls" and again["message"]["content"] is None
    assert [c["function"]["name"] for c in again["message"]["tool_calls"]] == ["get_weather"]
    assert refused["choices"][0]["message"]["content"] == 'Result of get_weather: {"temp_c": 21}'
