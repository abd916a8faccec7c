"""Unit tests of the deterministic model: tokenizer, stops, logprobs and tool arguments."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance._reference._model import apply_stop, count_tokens, token_logprob, tokenize
from conformance._reference._tools import build_arguments, mentioned_tools, tool_result_reply
from conformance._reference._types import Message, ToolCallIn, ToolSpec


@given(st.text())
def test_tokens_join_back_to_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens) and all(len(token) <= 32 for token in tokens)
    assert count_tokens(text) == len(tokens)


def test_tokenizer_splits_words_with_their_leading_space() -> None:
    assert tokenize("You said: hi  there\n") == ["You", " said:", " hi", "  there", "\n"]
    assert tokenize("x" * 40) == ["x" * 16, "x" * 16, "x" * 8]


def test_count_tokens_stops_at_the_cap() -> None:
    assert count_tokens("a " * 1000, cap=10) == 10
    assert count_tokens("a b", cap=10) == 2


@pytest.mark.parametrize(
    ("stops", "budget", "expected", "finish"),
    [
        ((), 10, "You said: one two three", "stop"),
        ((), 3, "You said: one", "length"),
        (("two",), 10, "You said: one ", "stop"),
        (("e t",), 10, "You said: on", "stop"),  # the cut falls inside a token
        (("three", " one"), 10, "You said:", "stop"),  # the earliest stop wins
        (("three",), 4, "You said: one two", "length"),  # stop not reached within the budget
        (("two",), 4, "You said: one ", "stop"),  # stop completed by the last allowed token
    ],
)
def test_apply_stop(stops: tuple[str, ...], budget: int, expected: str, finish: str) -> None:
    tokens, reason = apply_stop(tokenize("You said: one two three"), stops, budget)
    assert ("".join(tokens), reason) == (expected, finish)
    assert all(tokens)


@pytest.mark.parametrize("top", [0, 1, 2, 20])
def test_token_logprob_shape(top: int) -> None:
    entry = token_logprob(" héllo", top)
    assert entry["token"] == " héllo"
    assert entry["bytes"] == list(" héllo".encode())
    assert entry["logprob"] <= 0
    tops = entry["top_logprobs"]
    assert len(tops) == top
    assert len({item["token"] for item in tops}) == top
    assert [item["logprob"] for item in tops] == sorted((i["logprob"] for i in tops), reverse=True)
    assert all(item["bytes"] == list(item["token"].encode()) for item in tops)
    assert sum(math.exp(item["logprob"]) for item in tops) <= 1.0
    if top:
        assert tops[0] == {k: entry[k] for k in ("token", "logprob", "bytes")}


def _tool(name: str, parameters: Mapping[str, Any]) -> ToolSpec:
    return ToolSpec(name=name, parameters=parameters, definition="{}")


def test_arguments_fill_required_properties_by_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1},
            "ratio": {"type": ["number", "null"]},
            "flag": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "where": {
                "type": "object",
                "properties": {"x": {"type": "integer"}},
                "required": ["x"],
            },
            "fixed": {"const": "k"},
            "choice": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "optional": {"type": "string"},
        },
        "required": ["city", "unit", "days", "ratio", "flag", "tags", "where", "fixed", "choice"],
    }
    arguments = json.loads(build_arguments(_tool("f", schema), "hello"))
    assert arguments == {
        "city": "hello",
        "unit": "celsius",
        "days": 1,
        "ratio": 0.0,
        "flag": False,
        "tags": ["hello"],
        "where": {"x": 0},
        "fixed": "k",
        "choice": 0,
    }


def test_arguments_take_name_value_pairs_from_the_text() -> None:
    schema = {
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "flag": {"type": "boolean"},
            "note": {"type": "string"},
        },
        "required": ["city"],
    }
    text = 'weather city="New York" days=3, flag=yes note=hi.'
    arguments = json.loads(build_arguments(_tool("f", schema), text))
    assert arguments == {"city": "New York", "days": 3, "flag": True, "note": "hi"}


def test_arguments_without_a_schema_are_an_empty_object() -> None:
    assert build_arguments(_tool("f", {}), "anything") == "{}"


def test_mentioned_tools_match_whole_names_in_order_of_appearance() -> None:
    tools = (_tool("get_time", {}), _tool("get_weather", {}), _tool("get", {}))
    found = mentioned_tools(tools, "Use GET_WEATHER then get_time; not get_timezone")
    assert [tool.name for tool in found] == ["get_weather", "get_time"]


def test_tool_result_reply_names_the_tools_of_the_trailing_results() -> None:
    messages = (
        Message("user", "hi"),
        Message("assistant", "", tool_calls=(ToolCallIn("c1", "get_weather", "{}"),)),
        Message("tool", "sunny", tool_call_id="c1"),
        Message("tool", "late", tool_call_id="unknown"),
    )
    reply = tool_result_reply(messages)
    assert reply == "Result of get_weather: sunny Result of unknown: late"
    assert tool_result_reply(messages[:1]) is None
