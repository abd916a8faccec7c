"""Non-streaming behaviour of the reference container: routes, shape, the model's rules."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

CHAT = "/v1/chat/completions"


async def _post(ref: Any, body: dict[str, Any], **config: Any) -> dict[str, Any]:
    async with ref.client(**config) as client:
        response = await client.post(CHAT, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = response.json()
    return result


async def test_ping_and_models(ref: Any) -> None:
    async with ref.client(model_name="m1", context_limit=100) as client:
        assert (await client.get("/ping")).status_code == 200
        assert (await client.post("/ping")).status_code == 200
        models = (await client.get("/v1/models")).json()
    assert models["object"] == "list"
    assert [(m["id"], m["object"], m["max_model_len"]) for m in models["data"]] == [
        ("m1", "model", 100)
    ]
    assert isinstance(models["data"][0]["created"], int)


async def test_response_has_the_full_openai_shape(ref: Any) -> None:
    body = await _post(ref, ref.body("Say OK"))
    assert set(body) == {
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "choices",
        "usage",
    }
    assert body["id"].startswith("chatcmpl-") and len(body["id"]) > len("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and abs(body["created"] - time.time()) < 60
    assert body["model"] == "reference-model"
    assert body["system_fingerprint"] == "fp_reference"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "You said: Say OK", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    # 3 + (4 + 2 tokens of "Say OK") prompt; "You", " said:", " Say", " OK" completion.
    assert body["usage"] == {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}


async def test_invocations_answers_like_chat_completions(ref: Any) -> None:
    request = ref.body("same answer", n=2, logprobs=True, top_logprobs=1)
    async with ref.client() as client:
        chat = (await client.post(CHAT, json=request)).json()
        invocations = await client.post("/invocations", json=request)
        streamed = await client.post("/invocations", json={**request, "stream": True})
    assert invocations.status_code == 200
    assert {**invocations.json(), "id": "", "created": 0} == {**chat, "id": "", "created": 0}
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert (
        ref.content(ref.per_choice(ref.chunks(streamed.text))[1])
        == (chat["choices"][1]["message"]["content"])
    )


async def test_empty_and_other_model_names_are_accepted(ref: Any) -> None:
    for model in ("", "my-endpoint", None):
        request = (
            ref.body("hi", model=model)
            if model is not None
            else {"messages": [{"role": "user", "content": "hi"}]}
        )
        assert (await _post(ref, request, model_name="served"))["model"] == "served"


async def test_sagemaker_and_authorization_headers_are_ignored(ref: Any) -> None:
    headers = {
        "Authorization": "Bearer garbage",
        "X-Amzn-SageMaker-Custom-Attributes": "a=b",
        "X-Amzn-SageMaker-Inference-Id": "abc",
        "X-Amzn-SageMaker-Target-Variant": "v1",
        "X-Amzn-Trace-Id": "Root=1-abc",
    }
    async with ref.client() as client:
        plain = (await client.post(CHAT, json=ref.body())).json()
        with_headers = await client.post(CHAT, json=ref.body(), headers=headers)
    assert with_headers.status_code == 200
    assert with_headers.json()["choices"] == plain["choices"]


async def test_unicode_is_echoed_as_utf8(ref: Any) -> None:
    body = await _post(ref, ref.body("héllo 世界 🙂"))
    assert body["choices"][0]["message"]["content"] == "You said: héllo 世界 🙂"


async def test_content_parts_and_history_are_read(ref: Any) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You said: first"},
        {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image_url"}]},
    ]
    body = await _post(ref, {"model": "", "messages": messages})
    assert body["choices"][0]["message"]["content"] == "You said: part one"
    # 3 + 4 * 4 messages + 2 + 1 + 3 + 2 text tokens.
    assert body["usage"]["prompt_tokens"] == 27


async def test_no_user_text_gives_a_fixed_reply(ref: Any) -> None:
    body = await _post(ref, {"messages": [{"role": "system", "content": "only a system prompt"}]})
    assert body["choices"][0]["message"]["content"] == "You said nothing."


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_token_limit_gives_length(ref: Any, field: str) -> None:
    body = await _post(ref, ref.body("one two three four five six", **{field: 3}))
    assert body["choices"][0]["message"]["content"] == "You said: one"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


async def test_max_completion_tokens_wins_over_max_tokens(ref: Any) -> None:
    body = await _post(ref, ref.body("a b c d e", max_tokens=2, max_completion_tokens=4))
    assert body["usage"]["completion_tokens"] == 4


async def test_default_budget_is_max_output_tokens(ref: Any) -> None:
    body = await _post(ref, ref.body("w " * 50), max_output_tokens=7)
    assert body["usage"]["completion_tokens"] == 7
    assert body["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize("stop", ["three", ["zzz", "three"], [" two", "three"]])
async def test_stop_strings_are_excluded(ref: Any, stop: Any) -> None:
    body = await _post(ref, ref.body("one two three four", stop=stop, seed=7, top_p=0.5))
    content = body["choices"][0]["message"]["content"]
    assert content == (
        "You said: one two " if "zzz" in stop or stop == "three" else "You said: one"
    )
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(content.split(" "))


async def test_n_choices_have_their_own_index_and_text(ref: Any) -> None:
    body = await _post(ref, ref.body("hi", n=3))
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    texts = [c["message"]["content"] for c in body["choices"]]
    assert texts == ["You said: hi", "Variant 1: You said: hi", "Variant 2: You said: hi"]
    assert body["usage"]["completion_tokens"] == 3 + 5 + 5


@pytest.mark.parametrize("top", [None, 0, 2, 20])
async def test_logprobs_use_the_chat_shape(ref: Any, top: int | None) -> None:
    fields: dict[str, Any] = {"logprobs": True}
    if top is not None:
        fields["top_logprobs"] = top
    body = await _post(ref, ref.body("héllo there", **fields))
    choice = body["choices"][0]
    logprobs = choice["logprobs"]
    assert set(logprobs) == {"content", "refusal"}
    entries = logprobs["content"]
    assert "".join(e["token"] for e in entries) == choice["message"]["content"]
    assert len(entries) == body["usage"]["completion_tokens"]
    for entry in entries:
        assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
        assert entry["logprob"] <= 0 and entry["bytes"] == list(entry["token"].encode())
        assert len(entry["top_logprobs"]) == (top or 0)
        assert all(set(t) == {"token", "logprob", "bytes"} for t in entry["top_logprobs"])


async def test_output_is_deterministic_whatever_the_seed(ref: Any) -> None:
    first = await _post(ref, ref.body("repeat me", seed=1, temperature=1.5))
    second = await _post(ref, ref.body("repeat me", seed=2, temperature=0))
    assert first["choices"] == second["choices"] and first["usage"] == second["usage"]


async def test_unused_openai_fields_are_accepted(ref: Any) -> None:
    extra = {
        "user": "u1",
        "metadata": {"k": "v"},
        "store": False,
        "service_tier": "auto",
        "reasoning_effort": "low",
        "response_format": {"type": "text"},
        "logit_bias": {"1": 2},
        "parallel_tool_calls": True,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "stream": False,
        "stream_options": None,
        "something_new": [1, 2],
    }
    body = await _post(ref, ref.body("ok", **extra))
    assert body["choices"][0]["message"]["content"] == "You said: ok"


async def test_non_stream_answer_takes_the_generation_time(ref: Any) -> None:
    started = time.perf_counter()
    await _post(ref, ref.body("a b c d"), ttft_ms=60, itl_ms=20)
    # 6 tokens: ttft + 5 decode steps.
    assert time.perf_counter() - started >= 0.15


def _tool_body(ref: Any, text: str, **fields: Any) -> Any:
    return ref.body(text, tools=[ref.weather_tool, ref.time_tool], **fields)


@pytest.mark.parametrize(
    ("text", "choice", "expected"),
    [
        ("what is the weather", "auto", []),
        ("call get_weather please", "auto", ["get_weather"]),
        ("use get_time and get_weather", "auto", ["get_time", "get_weather"]),
        ("what is the weather", "required", ["get_weather"]),
        ("use get_time", "required", ["get_time"]),
        ("use get_weather", "none", []),
        ("use get_weather", {"type": "function", "function": {"name": "get_time"}}, ["get_time"]),
    ],
)
async def test_tool_choice_rules(ref: Any, text: str, choice: Any, expected: list[str]) -> None:
    body = await _post(ref, _tool_body(ref, text, tool_choice=choice))
    result = body["choices"][0]
    calls = result["message"].get("tool_calls", [])
    assert [call["function"]["name"] for call in calls] == expected
    if expected:
        assert result["finish_reason"] == "tool_calls"
        assert result["message"]["content"] is None
        assert len({call["id"] for call in calls}) == len(calls)
        for call in calls:
            assert call["type"] == "function" and call["id"].startswith("call_")
            assert isinstance(json.loads(call["function"]["arguments"]), dict)
    else:
        assert result["finish_reason"] == "stop" and "tool_calls" not in result["message"]


async def test_tool_arguments_come_from_the_schema_and_text(ref: Any) -> None:
    body = await _post(ref, _tool_body(ref, "get_weather city=Paris, get_time zone=UTC hours=2"))
    calls = body["choices"][0]["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        {"city": "Paris"},
        {"zone": "UTC", "hours": 2},
    ]
    tokens = [len(c["function"]["arguments"]) for c in calls]
    assert body["usage"]["completion_tokens"] == sum(1 + -(-n // 16) for n in tokens)


async def test_parallel_tool_calls_false_keeps_one_call(ref: Any) -> None:
    body = await _post(ref, _tool_body(ref, "get_time and get_weather", parallel_tool_calls=False))
    assert [c["function"]["name"] for c in body["choices"][0]["message"]["tool_calls"]] == [
        "get_time"
    ]


async def test_tool_result_turn_gets_a_text_answer(ref: Any) -> None:
    messages = [
        {"role": "user", "content": "call get_weather city=Paris"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
    ]
    body = await _post(ref, {"model": "", "messages": messages, "tools": [ref.weather_tool]})
    choice = body["choices"][0]
    assert (
        choice["message"]["content"]
        == "Result of get_weather: sunny, 21 C Result of get_time: noon"
    )
    assert choice["finish_reason"] == "stop"


async def test_tool_budget_cut_gives_length(ref: Any) -> None:
    body = await _post(ref, _tool_body(ref, "x " * 40, tool_choice="required", max_tokens=3))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert len(choice["message"]["tool_calls"]) == 1


@pytest.mark.parametrize(
    ("config", "kwargs", "thinks"),
    [
        ({}, {"enable_thinking": True}, True),
        ({"reasoning": True}, None, True),
        ({"reasoning": True}, {"enable_thinking": False}, False),
        ({}, None, False),
        ({}, {}, False),
    ],
)
async def test_reasoning_switch(
    ref: Any, config: dict[str, Any], kwargs: Any, thinks: bool
) -> None:
    request = ref.body("hi there")
    if kwargs is not None:
        request["chat_template_kwargs"] = kwargs
    body = await _post(ref, request, **config)
    message = body["choices"][0]["message"]
    assert message["content"] == "You said: hi there"
    if thinks:
        reasoning = message["reasoning_content"]
        assert reasoning == "The user wrote 2 word(s), so I will repeat them."
        details = body["usage"]["completion_tokens_details"]
        assert details == {"reasoning_tokens": len(reasoning.split(" "))}
        assert body["usage"]["completion_tokens"] == details["reasoning_tokens"] + 4
    else:
        assert "reasoning_content" not in message
        assert "completion_tokens_details" not in body["usage"]


async def test_reasoning_counts_against_the_budget(ref: Any) -> None:
    body = await _post(ref, ref.body("hi", max_tokens=3), reasoning=True)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == ""
    assert choice["message"]["reasoning_content"] == "The user wrote"


async def test_response_format_gets_json_the_schema_accepts(ref: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
    }
    json_schema = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}
    body = await _post(ref, ref.body("city=Oslo", response_format=json_schema))
    assert json.loads(body["choices"][0]["message"]["content"]) == {"city": "Oslo", "days": 1}
    body = await _post(ref, ref.body("hi", response_format={"type": "json_object"}))
    assert json.loads(body["choices"][0]["message"]["content"]) == {}
    async with ref.client() as client:
        refused = await client.post(CHAT, json=ref.body("hi", response_format={"type": "xml"}))
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "response_format.type"
