"""Chunks copied from a template are the constructor's chunks, object state and all.

``_template`` builds a text-only chunk by copying a chunk the constructor built for the same
shape. These tests compare every copy with ``ModelResponseStream(**data)`` field by field,
pydantic's bookkeeping included, so a LiteLLM release that lays its models out differently
fails here (the release matrix runs this file on each end) rather than in a caller's stream.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fuzz.fuzz_support import fuzz
from hypothesis import given
from hypothesis import strategies as st
from provider_support import chunk
from pydantic import BaseModel

from litellm_sagemaker_openai import _template
from litellm_sagemaker_openai._answer import stream_chunk
from litellm_sagemaker_openai._template import ChunkBuilder


def state(value: Any) -> Any:
    """Everything pydantic keeps for a model, recursively; plain values as they are."""
    if isinstance(value, BaseModel):
        return (
            type(value),
            state(value.__dict__),
            state(value.__pydantic_extra__),
            sorted(value.__pydantic_fields_set__),
            state(value.__pydantic_private__),
        )
    if isinstance(value, dict):
        return {key: state(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [state(item) for item in value]
    return value


def built(builder: ChunkBuilder, data: dict[str, Any]) -> Any:
    return builder.build(copy.deepcopy(data))


def constructed(data: dict[str, Any]) -> Any:
    return stream_chunk(copy.deepcopy(data))


@pytest.fixture
def constructor_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def counting(data: dict[str, Any]) -> Any:
        calls.append(data)
        return stream_chunk(data)

    monkeypatch.setattr(_template, "stream_chunk", counting)
    return calls


TEXTS = ["Hel", "lo", " wor", "ld", "!"]


@pytest.mark.parametrize("key", ["content", "reasoning_content", "reasoning"])
def test_a_run_of_text_chunks_is_constructed_once_and_equals_the_constructor(
    key: str, constructor_calls: list[dict[str, Any]]
) -> None:
    builder = ChunkBuilder()
    events = [chunk({key: text}, system_fingerprint=None) for text in TEXTS]
    chunks = [built(builder, event) for event in events]
    assert len(constructor_calls) == 1, "the template was not reused"
    for event, got in zip(events, chunks, strict=True):
        assert state(got) == state(constructed(event))
        assert got == constructed(event)


def test_other_shapes_go_through_the_constructor(constructor_calls: list[dict[str, Any]]) -> None:
    builder = ChunkBuilder()
    events = [
        chunk({"role": "assistant", "content": ""}),  # empty text
        chunk({"content": "a"}, "stop"),  # finish: a shape of its own
        chunk({"content": "a", "reasoning_content": "b"}),  # two texts
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}),
        chunk(
            {"content": "a"},
            logprobs={
                "content": [{"token": "a", "logprob": -1.0, "bytes": None, "top_logprobs": []}]
            },
        ),
        {**chunk({"content": "a"}), "choices": [chunk({"content": "a"})["choices"][0]] * 2},
    ]
    for event in events:
        assert state(built(builder, event)) == state(constructed(event))
    # Each was constructed; only the finish chunk was text-shaped, so only it became a template.
    assert len(constructor_calls) == len(events)
    assert len(builder._templates) == 1


def test_a_chunk_changed_by_its_consumer_does_not_change_the_next_one() -> None:
    builder = ChunkBuilder()
    first = built(builder, chunk({"content": "a"}))
    first.choices[0].delta.content = "mutated"
    first.choices[0].finish_reason = "stop"
    first.choices[0].delta.role = "assistant"
    first.choices.append(first.choices[0])
    first._hidden_params["usage"] = {"total_tokens": 1}
    first.id = "other"
    second = built(builder, chunk({"content": "b"}))
    assert state(second) == state(constructed(chunk({"content": "b"})))


def test_templates_are_kept_per_shape_and_bounded() -> None:
    builder = ChunkBuilder()
    for index in range(10):
        event = chunk({"content": "x"}, stop_reason=index)
        assert state(built(builder, event)) == state(constructed(event))
    assert len(builder._templates) == _template.MAX_TEMPLATES


atom = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "x", "é"]))
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=5)
delta = st.fixed_dictionaries(
    {},
    optional={"content": st.one_of(st.none(), text), "reasoning_content": st.one_of(st.none(), text),
              "reasoning": st.one_of(st.none(), text), "role": st.sampled_from([None, "assistant"]),
              "refusal": st.one_of(st.none(), text), "x_vendor": atom},
)  # fmt: skip
choice = st.fixed_dictionaries(
    {"index": st.sampled_from([0, 0, 1]), "delta": delta},
    optional={"finish_reason": st.sampled_from([None, None, "stop", "length"]),
              "logprobs": st.none(), "stop_reason": atom, "x_choice": atom},
)  # fmt: skip
event = st.fixed_dictionaries(
    {"id": st.sampled_from(["chatcmpl-a", "chatcmpl-b"]), "object": st.just("chat.completion.chunk"),
     "created": st.sampled_from([1, 2]), "model": st.sampled_from(["", "m"]),
     "choices": st.lists(choice, min_size=0, max_size=2)},
    optional={"system_fingerprint": st.sampled_from([None, "fp"]), "service_tier": atom},
)  # fmt: skip


@fuzz(0.5)
@given(st.lists(event.filter(lambda e: e["choices"]), min_size=1, max_size=12))
def test_every_chunk_of_any_stream_equals_the_constructors(events: list[dict[str, Any]]) -> None:
    builder = ChunkBuilder()
    for data in events:
        assert state(built(builder, data)) == state(constructed(data))
