"""The evidence behind the checks of optional features: a real client against a broken reference.

Each test runs a client of the matrix in this process (openai-python, LiteLLM) against the
reference container with one fault switched on, and shows what the user loses or pays. The
checks' "Why" sections name these tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pydantic
import pytest

from conformance._engine._capabilities import TOOL_PROMPT, WEATHER_TOOL
from conformance._engine._local import reference_target
from conformance._wire._target import Target
from conformance.checks._prompts import LONG_PROMPT, UNICODE_PROMPT
from conformance.checks.chat import SCHEMA_PROMPT
from conformance.checks.tools import BOTH_PROMPT, TIME_TOOL

PROMPT = "count one two three four five six seven"
TOOLS: Any = [WEATHER_TOOL, TIME_TOOL]


def test_an_ignored_stop_is_paid_for_past_the_stop_string() -> None:
    # chat.stop (SHOULD): no client breaks; the cost is every token after the stop string.
    messages = [{"role": "user", "content": PROMPT}]
    for faults, runs_past in (((), False), (("ignore_stop",), True)):
        with reference_target("direct", faults) as target:
            client = openai.OpenAI(base_url=target.openai_base_url, api_key="x", max_retries=0)
            answer = client.chat.completions.create(model="", messages=messages, stop=["four"])  # type: ignore[arg-type]
        content = answer.choices[0].message.content or ""
        assert ("four" in content) is runs_past, content
        assert answer.choices[0].finish_reason == "stop"


def _openai(target: Target) -> openai.OpenAI:
    return openai.OpenAI(base_url=target.openai_base_url, api_key="x", max_retries=0)


def test_an_ignored_named_tool_choice_hands_back_another_call() -> None:
    # tools.named_choice (MUST): the forced call is lost, silently.
    forced: Any = {"type": "function", "function": {"name": "get_time"}}
    for faults, name in (((), "get_time"), (("ignore_named_tool_choice",), "get_weather")):
        with reference_target("direct", faults) as target:
            answer = _openai(target).chat.completions.create(
                model="", messages=[{"role": "user", "content": TOOL_PROMPT}],
                tools=TOOLS, tool_choice=forced,
            )  # fmt: skip
        calls = answer.choices[0].message.tool_calls or []
        assert [call.function.name for call in calls] == [name]  # type: ignore[union-attr]


def test_parallel_calls_on_one_index_merge_into_one_broken_call() -> None:
    # tools.parallel (MUST): openai-python's stream accumulator merges calls by index.
    messages: Any = [{"role": "user", "content": BOTH_PROMPT}]
    for faults, names in (
        ((), ["get_weather", "get_time"]),
        (("parallel_same_index",), ["get_weatherget_time"]),
    ):
        with reference_target("direct", faults) as target:
            client = _openai(target)
            with client.chat.completions.stream(
                model="", messages=messages, tools=TOOLS, tool_choice="required"
            ) as stream:
                final = stream.get_final_completion()
        calls = final.choices[0].message.tool_calls or []
        assert [call.function.name for call in calls] == names  # type: ignore[union-attr]
    arguments = calls[0].function.arguments  # type: ignore[union-attr]
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_a_character_cut_in_two_reaches_the_user_as_replacement_characters() -> None:
    # chunk.whole_characters (MUST): the text is lost, with no error.
    messages: Any = [{"role": "user", "content": UNICODE_PROMPT}]
    for faults, whole in (((), True), (("split_utf8",), False)):
        with reference_target("direct", faults) as target:
            client = _openai(target)
            stream = client.chat.completions.create(model="", messages=messages, stream=True)
            text = "".join(
                chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
            )
        assert ("héllo wörld 👋 你好" in text) is whole, text
        assert ("\ufffd" in text) is not whole, text


def test_litellm_reads_reasoning_under_either_name() -> None:
    # chat.reasoning_field (strict layer): LiteLLM copes with vLLM 0.16's `reasoning`.
    import litellm

    think = {"chat_template_kwargs": {"enable_thinking": True}}
    messages = [{"role": "user", "content": "hi"}]
    for faults in ((), ("reasoning_renamed",)):
        with reference_target("direct", faults) as target:
            kwargs: Any = {"api_base": target.openai_base_url, "api_key": "x", "extra_body": think}
            answer = litellm.completion(model="openai/m", messages=messages, **kwargs)
            stream = litellm.completion(model="openai/m", messages=messages, stream=True, **kwargs)
            streamed = "".join(
                getattr(chunk.choices[0].delta, "reasoning_content", None) or ""
                for chunk in stream
                if chunk.choices
            )
        assert answer.choices[0].message.reasoning_content == streamed  # type: ignore[union-attr]
        assert streamed.startswith("The user wrote 1 word(s)")


def test_a_flat_error_frame_loses_the_containers_message() -> None:
    # errors.mid_stream (MUST): the error's message must reach the caller.
    messages: Any = [{"role": "user", "content": "hello there my friend"}]
    for faults, message in (
        (("mid_stream_error",), "failed mid-stream on purpose"),
        (("mid_stream_error", "flat_error_frame"), "An error occurred during streaming"),
    ):
        with reference_target("direct", faults) as target:
            client = _openai(target)
            with pytest.raises(openai.APIError, match=message):
                for _ in client.chat.completions.create(model="", messages=messages, stream=True):
                    pass


def test_an_ignored_response_format_makes_parse_raise() -> None:
    # chat.json_schema (MUST): openai-python's structured output breaks on prose.
    class Weather(pydantic.BaseModel):
        city: str
        temp_c: int

    messages: Any = [{"role": "user", "content": SCHEMA_PROMPT}]
    with reference_target("direct") as target:
        parsed = _openai(target).chat.completions.parse(
            model="", messages=messages, response_format=Weather
        )
    assert parsed.choices[0].message.parsed == Weather(city="Paris", temp_c=0)
    with (
        reference_target("direct", ("ignore_response_format",)) as target,
        pytest.raises(pydantic.ValidationError, match="Invalid JSON"),
    ):
        _openai(target).chat.completions.parse(model="", messages=messages, response_format=Weather)


def _running(target: Target) -> float:
    answer = httpx.get(target.base_url + "/metrics", timeout=5)
    return float(answer.text.splitlines()[-1].rsplit(" ", 1)[1])


def test_a_client_that_leaves_keeps_a_careless_container_generating() -> None:
    # container.stops_abandoned (SHOULD): no client breaks; the cost is a busy GPU slot.
    messages: Any = [{"role": "user", "content": LONG_PROMPT}]
    for faults, still_running in (((), 0.0), (("generate_after_disconnect",), 1.0)):
        with reference_target("direct", faults, itl_ms=5.0, abandoned_run_s=30.0) as target:
            stream = _openai(target).chat.completions.create(
                model="", messages=messages, stream=True, max_completion_tokens=1024
            )
            next(iter(stream))
            assert _running(target) == 1.0
            stream.close()  # the user stops the answer
            # The same answer again, whole: by its end the one left behind would have ended.
            _openai(target).chat.completions.create(
                model="", messages=messages, max_completion_tokens=1024
            )
            deadline = time.monotonic() + 10  # a hang guard, not a timing assertion
            while _running(target) != still_running and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _running(target) == still_running
