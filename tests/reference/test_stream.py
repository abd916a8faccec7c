"""Streaming behaviour of the reference container: SSE framing and chunk semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

CHAT = "/v1/chat/completions"
CHUNK_KEYS = {"id", "object", "created", "model", "system_fingerprint", "choices"}


async def _both(ref: Any, body: dict[str, Any], **config: Any) -> tuple[list[Any], dict[str, Any]]:
    """The stream's chunks and the non-stream answer to the same body."""
    async with ref.client(**config) as client:
        streamed = await client.post(CHAT, json={**body, "stream": True})
        plain = await client.post(CHAT, json=body)
    assert streamed.status_code == 200, streamed.text
    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"
    return ref.chunks(streamed.text), plain.json()


def _check_choice_protocol(ref: Any, chunks: list[dict[str, Any]], n: int) -> None:
    """Role first, exactly one finish per index as its last entry, with an empty delta."""
    grouped = ref.per_choice(chunks)
    assert sorted(grouped) == list(range(n))
    for entries in grouped.values():
        assert entries[0]["delta"]["role"] == "assistant"
        assert all("role" not in e["delta"] for e in entries[1:])
        finishes = [e for e in entries if e["finish_reason"] is not None]
        assert finishes == [entries[-1]] and entries[-1]["delta"] == {}


async def test_every_chunk_has_the_chunk_shape(ref: Any) -> None:
    chunks, plain = await _both(ref, ref.body("Say OK"))
    ids = {chunk["id"] for chunk in chunks}
    assert len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-")
    for chunk in chunks:
        assert set(chunk) == CHUNK_KEYS  # no usage key and no top-level error key
        assert chunk["object"] == "chat.completion.chunk"
        assert isinstance(chunk["created"], int) and chunk["created"] == chunks[0]["created"]
        assert chunk["model"] == "reference-model"
        assert chunk["system_fingerprint"] == "fp_reference"
        assert len(chunk["choices"]) == 1
        for choice in chunk["choices"]:
            assert set(choice) == {"index", "delta", "logprobs", "finish_reason"}
    _check_choice_protocol(ref, chunks, 1)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "You"},
        {"content": " said:"},
        {"content": " Say"},
        {"content": " OK"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]


async def test_stream_content_matches_the_non_stream_answer(ref: Any) -> None:
    text = "emoji 🙂🙃 and 中文字符测试中文字符测试中文字符 done"
    chunks, plain = await _both(ref, ref.body(text, max_tokens=9, stop=["done"]))
    choices = ref.per_choice(chunks)[0]
    assert ref.content(choices) == plain["choices"][0]["message"]["content"]
    assert choices[-1]["finish_reason"] == plain["choices"][0]["finish_reason"]


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "*/*"])
async def test_stream_ignores_the_accept_header(ref: Any, accept: str) -> None:
    async with ref.client() as client:
        response = await client.post(CHAT, json=ref.body(stream=True), headers={"Accept": accept})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ref.chunks(response.text)


@pytest.mark.parametrize("options", [None, {}, {"include_usage": False}])
async def test_no_usage_chunk_unless_asked(ref: Any, options: Any) -> None:
    chunks, _ = await _both(
        ref,
        ref.body("hi", stream_options=options),
    )
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)


async def test_include_usage_sends_exactly_one_final_usage_chunk(ref: Any) -> None:
    body = ref.body("count me", n=2, stream_options={"include_usage": True})
    async with ref.client() as client:
        streamed = await client.post(CHAT, json={**body, "stream": True})
        plain = await client.post(
            CHAT, json={k: v for k, v in body.items() if k != "stream_options"}
        )
    chunks = ref.chunks(streamed.text)
    usage_chunks = [chunk for chunk in chunks if chunk["usage"] is not None]
    assert usage_chunks == [chunks[-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == plain.json()["usage"]
    assert all(chunk["usage"] is None and chunk["choices"] for chunk in chunks[:-1])
    _check_choice_protocol(ref, chunks[:-1], 2)


async def test_n_choices_are_interleaved_with_their_own_index(ref: Any) -> None:
    chunks, plain = await _both(ref, ref.body("a b c", n=3))
    order = [chunk["choices"][0]["index"] for chunk in chunks]
    # Round robin: each decode step sends one chunk per choice; choice 0 has fewer tokens.
    assert order[:9] == [0, 1, 2] * 3
    _check_choice_protocol(ref, chunks, 3)
    grouped = ref.per_choice(chunks)
    for index in range(3):
        assert ref.content(grouped[index]) == plain["choices"][index]["message"]["content"]


async def test_logprobs_ride_on_each_content_chunk(ref: Any) -> None:
    chunks, plain = await _both(ref, ref.body("one two", logprobs=True, top_logprobs=3))
    entries = []
    for chunk in chunks:
        choice = chunk["choices"][0]
        if choice["delta"].get("content"):
            assert len(choice["logprobs"]["content"]) == 1
            entry = choice["logprobs"]["content"][0]
            assert entry["token"] == choice["delta"]["content"]
            assert len(entry["top_logprobs"]) == 3
            entries.append(entry)
        else:
            assert choice["logprobs"] is None
    assert entries == plain["choices"][0]["logprobs"]["content"]


async def test_token_limit_in_a_stream(ref: Any) -> None:
    chunks, _ = await _both(ref, ref.body("one two three four five", max_completion_tokens=2))
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert [d["content"] for d in deltas[1:-1]] == ["You", " said:"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def _tool_fragments(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        fragment
        for chunk in chunks
        for choice in chunk["choices"]
        for fragment in choice["delta"].get("tool_calls", [])
    ]


async def test_tool_calls_stream_like_openai(ref: Any) -> None:
    text = "please call get_weather city=Frankfurt-am-Main-Hauptbahnhof then get_time zone=UTC"
    tools = [ref.weather_tool, ref.time_tool]
    chunks, plain = await _both(ref, ref.body(text, tools=tools, tool_choice="auto"))
    _check_choice_protocol(ref, chunks, 1)
    fragments = _tool_fragments(chunks)
    assert all(len(c["choices"][0]["delta"].get("tool_calls", [None])) == 1 for c in chunks)
    expected = plain["choices"][0]["message"]["tool_calls"]
    for index, call in enumerate(expected):
        mine = [f for f in fragments if f["index"] == index]
        head, rest = mine[0], mine[1:]
        assert head == {
            "index": index,
            "id": head["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        assert head["id"].startswith("call_")
        assert rest and all(set(f) == {"index", "function"} for f in rest)
        assert all(set(f["function"]) == {"arguments"} for f in rest)
        arguments = "".join(f["function"]["arguments"] for f in rest)
        assert json.loads(arguments) == json.loads(call["function"]["arguments"])
    assert [f["index"] for f in fragments] == sorted(f["index"] for f in fragments)
    assert {f["index"] for f in fragments} == {0, 1}
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]
    ]
    assert finishes == ["tool_calls"]
    assert all(c["choices"][0]["delta"].get("content") in (None, "") for c in chunks)


async def test_tool_result_turn_streams_text(ref: Any) -> None:
    messages = [
        {"role": "user", "content": "get_weather"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c9", "content": "rain"},
    ]
    body = {"model": "", "messages": messages, "tools": [ref.weather_tool], "tool_choice": "auto"}
    chunks, _ = await _both(ref, body)
    assert ref.content(ref.per_choice(chunks)[0]) == "Result of get_weather: rain"
    assert not _tool_fragments(chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_reasoning_streams_before_content(ref: Any) -> None:
    body = ref.body(
        "hi",
        chat_template_kwargs={"enable_thinking": True},
        stream_options={"include_usage": True},
    )
    async with ref.client() as client:
        response = await client.post(CHAT, json={**body, "stream": True})
    chunks = ref.chunks(response.text)
    kinds = [next(iter(c["choices"][0]["delta"]), "finish") for c in chunks[:-1]]
    first_content = kinds.index("content", 1)
    assert kinds[0] == "role"
    assert set(kinds[1:first_content]) == {"reasoning_content"}
    assert set(kinds[first_content:-1]) == {"content"}
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks[:-1])
    assert reasoning == "The user wrote 1 word(s), so I will repeat them."
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == first_content - 1
    assert usage["completion_tokens"] == first_content - 1 + 3
