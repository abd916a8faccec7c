"""Error handling of the reference container: OpenAI envelope, 400/404/405/415, context limit."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.asyncio

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": "f"}}]


def _assert_envelope(response: Any, status: int, param: Any = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    if param is not None:
        assert error["param"] == param
    result: dict[str, Any] = error
    return result


INVALID_BODIES: list[tuple[str, Any, str | None]] = [
    ("empty object", {}, "messages"),
    ("empty messages", {"messages": []}, "messages"),
    ("messages not a list", {"messages": "x"}, "messages"),
    ("message not an object", {"messages": ["hi"]}, "messages[0]"),
    ("unknown role", {"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ("user content null", {"messages": [{"role": "user", "content": None}]}, "messages[0]"),
    ("content wrong type", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    (
        "bad content part",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
        "messages[0].content[0].text",
    ),
    (
        "tool message without id",
        {"messages": [{"role": "tool", "content": "x"}]},
        "messages[0].tool_call_id",
    ),
    (
        "assistant tool_calls not a list",
        {"messages": [*USER, {"role": "assistant", "content": "", "tool_calls": {}}]},
        "messages[1].tool_calls",
    ),
    ("model not a string", {"messages": USER, "model": 3}, "model"),
    ("temperature hot", {"messages": USER, "temperature": "hot"}, "temperature"),
    ("temperature too high", {"messages": USER, "temperature": 3}, "temperature"),
    ("top_p bool", {"messages": USER, "top_p": True}, "top_p"),
    ("n zero", {"messages": USER, "n": 0}, "n"),
    ("n too large", {"messages": USER, "n": 9}, "n"),
    ("n float", {"messages": USER, "n": 1.5}, "n"),
    ("n bool", {"messages": USER, "n": True}, "n"),
    ("max_tokens zero", {"messages": USER, "max_tokens": 0}, "max_tokens"),
    ("max_completion_tokens str", {"messages": USER, "max_completion_tokens": "5"}, None),
    ("stop number", {"messages": USER, "stop": 5}, "stop"),
    ("stop list of numbers", {"messages": USER, "stop": [1]}, "stop"),
    ("seed string", {"messages": USER, "seed": "x"}, "seed"),
    ("stream string", {"messages": USER, "stream": "yes"}, "stream"),
    ("stream_options without stream", {"messages": USER, "stream_options": {}}, None),
    (
        "include_usage not bool",
        {"messages": USER, "stream": True, "stream_options": {"include_usage": 1}},
        "stream_options.include_usage",
    ),
    ("top_logprobs 21", {"messages": USER, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ("top_logprobs without logprobs", {"messages": USER, "top_logprobs": 2}, "top_logprobs"),
    ("logprobs not bool", {"messages": USER, "logprobs": "yes"}, "logprobs"),
    ("tools not a list", {"messages": USER, "tools": {}}, "tools"),
    ("tool without function", {"messages": USER, "tools": [{"type": "function"}]}, "tools[0]"),
    (
        "tool without name",
        {"messages": USER, "tools": [{"type": "function", "function": {}}]},
        "tools[0].function.name",
    ),
    ("tool_choice unknown mode", {"messages": USER, "tools": TOOLS, "tool_choice": "any"}, None),
    (
        "tool_choice unknown tool",
        {
            "messages": USER,
            "tools": TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "g"}},
        },
        "tool_choice",
    ),
    ("tool_choice required without tools", {"messages": USER, "tool_choice": "required"}, None),
    ("chat_template_kwargs list", {"messages": USER, "chat_template_kwargs": []}, None),
    (
        "enable_thinking not bool",
        {"messages": USER, "chat_template_kwargs": {"enable_thinking": "on"}},
        "chat_template_kwargs.enable_thinking",
    ),
]


@pytest.mark.parametrize(
    ("body", "param"), [(b, p) for _, b, p in INVALID_BODIES], ids=[i for i, _, _ in INVALID_BODIES]
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_invalid_bodies_get_a_400_envelope(
    ref: Any, body: dict[str, Any], param: str | None, stream: bool
) -> None:
    if stream and "stream" not in body and "stream_options" not in body:
        body = {**body, "stream": True}
    async with ref.client() as client:
        response = await client.post(CHAT, json=body)
    error = _assert_envelope(response, 400, param)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
async def test_non_json_or_non_object_bodies_get_400(ref: Any, raw: bytes) -> None:
    async with ref.client() as client:
        response = await client.post(
            CHAT, content=raw, headers={"Content-Type": "application/json"}
        )
    _assert_envelope(response, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_content_type_gets_415(ref: Any, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    async with ref.client() as client:
        response = await client.post(CHAT, content=b'{"messages": []}', headers=headers)
        invocations = await client.post("/invocations", content=b"{}", headers=headers)
    error = _assert_envelope(response, 415)
    assert "application/json" in error["message"]
    _assert_envelope(invocations, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_content_type_variants_are_accepted(ref: Any, content_type: str) -> None:
    async with ref.client() as client:
        response = await client.post(
            CHAT,
            content=b'{"messages": [{"role": "user", "content": "x"}]}',
            headers={"Content-Type": content_type},
        )
    assert response.status_code == 200


@pytest.mark.parametrize("stream", [False, True])
async def test_prompt_over_the_context_limit_is_a_context_error(ref: Any, stream: bool) -> None:
    async with ref.client(context_limit=50) as client:
        response = await client.post(CHAT, json=ref.body("word " * 60, stream=stream))
        fits = await client.post(CHAT, json=ref.body("word " * 30, stream=stream))
    error = _assert_envelope(response, 400, "messages")
    assert "maximum context length is 50 tokens" in error["message"]
    assert "more than 50" in error["message"]
    assert error["code"] == "context_length_exceeded"
    assert fits.status_code == 200


async def test_prompt_exactly_at_the_limit_reports_its_size(ref: Any) -> None:
    async with ref.client(context_limit=9) as client:
        response = await client.post(CHAT, json=ref.body("Say OK"))  # 9 prompt tokens
    error = _assert_envelope(response, 400, "messages")
    assert "resulted in 9 tokens" in error["message"]


async def test_completion_budget_over_the_context_is_refused(ref: Any) -> None:
    async with ref.client(context_limit=20) as client:
        too_much = await client.post(CHAT, json=ref.body("Say OK", max_completion_tokens=12))
        just_fits = await client.post(CHAT, json=ref.body("Say OK", max_completion_tokens=11))
        default = await client.post(CHAT, json=ref.body("a a a a a b"))
    error = _assert_envelope(too_much, 400, "max_tokens")
    assert "maximum context length" in error["message"] and "21 tokens" in error["message"]
    assert just_fits.status_code == 200
    # Without an explicit max, the budget shrinks to what the context leaves.
    assert default.status_code == 200
    usage = default.json()["usage"]
    assert usage["total_tokens"] == 20 and default.json()["choices"][0]["finish_reason"] == "length"


async def test_streaming_errors_come_before_any_stream(ref: Any) -> None:
    async with ref.client() as client:
        response = await client.post(CHAT, json={"messages": "x", "stream": True})
    _assert_envelope(response, 400, "messages")
    assert "data:" not in response.text


async def test_unknown_route_and_wrong_method_use_the_envelope(ref: Any) -> None:
    async with ref.client() as client:
        missing = await client.get("/v1/completions")
        wrong_method = await client.get(CHAT)
    assert "GET /v1/completions" in _assert_envelope(missing, 404)["message"]
    _assert_envelope(wrong_method, 405)
    assert "allow" in wrong_method.headers


async def test_the_container_stays_healthy_after_errors(ref: Any) -> None:
    async with ref.client() as client:
        for _ in range(3):
            await client.post(CHAT, json={"messages": USER, "logprobs": True, "top_logprobs": 21})
        assert (await client.get("/ping")).status_code == 200
        assert (await client.post(CHAT, json={"messages": USER})).status_code == 200
