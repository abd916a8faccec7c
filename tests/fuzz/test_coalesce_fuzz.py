"""Coalescing is exact: on any generated stream, split into reads anywhere, the deltas add up the same.

Streams mix content, reasoning and refusal text, logprobs, tool-call fragments over several
indices (some repeating an id or a name), two choices, a new role, an unknown field, finish
reasons, usage chunks and changing ids. The oracle folds a stream as a client does (text and
arguments concatenated, lists joined, every once-only value kept in order); a second oracle is
the OpenAI SDK's own stream accumulator.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from fuzz.fuzz_support import fuzz
from hypothesis import given
from hypothesis import strategies as st
from openai.lib.streaming.chat._completions import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from litellm_sagemaker_openai._coalesce import TEXT_KEYS, coalesce_chunks

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=6)
maybe = st.one_of(st.none(), text)
indices = st.sampled_from([0, 0, 1, 2])
fragment = st.one_of(
    st.builds(lambda i, a: {"index": i, "function": {"arguments": a}}, indices, maybe),
    st.fixed_dictionaries(
        {"index": indices, "function": st.fixed_dictionaries(
            {"arguments": maybe}, optional={"name": st.sampled_from(["f", "g"])})},
        optional={"id": st.sampled_from(["call_1", "call_2"]), "type": st.just("function")},
    ),
)  # fmt: skip
token = st.builds(lambda t: {"token": t, "logprob": -0.5, "bytes": None, "top_logprobs": []}, text)
delta = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["assistant", None]), "content": maybe,
        "reasoning_content": maybe, "refusal": maybe,
        "tool_calls": st.lists(fragment, min_size=1, max_size=2),
        "x_vendor": st.one_of(st.none(), st.integers(0, 3)),
    },
)  # fmt: skip
choice = st.fixed_dictionaries(
    {"index": st.sampled_from([0, 0, 0, 1]), "delta": delta,
     "finish_reason": st.sampled_from([None] * 8 + ["stop", "length", "tool_calls"])},
    optional={"logprobs": st.one_of(st.none(), st.fixed_dictionaries(
        {"content": st.lists(token, max_size=2)})), "stop_reason": st.sampled_from([None, 7])},
)  # fmt: skip
usage = st.builds(lambda n: {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1},
                  st.integers(0, 9))  # fmt: skip
event = st.builds(
    lambda id_, choices, used, sent: {
        "id": id_, "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": choices, "usage": used, "sent_at": sent},
    st.sampled_from(["chatcmpl-a"] * 6 + ["chatcmpl-b"]),
    st.one_of(st.lists(choice, min_size=1, max_size=1), st.just([]),
              st.lists(choice, min_size=2, max_size=2)),
    st.one_of(st.none(), st.none(), usage),
    st.floats(0, 1e9),
)  # fmt: skip
streams = st.lists(event, max_size=30)


def fold(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client builds from a stream: everything a merge could lose or reorder."""
    out: dict[Any, Any] = {"ids": [k for k, _ in itertools.groupby(c["id"] for c in chunks)],
                           "usage": [c["usage"] for c in chunks if c.get("usage")]}  # fmt: skip
    for chunk in chunks:
        for number, choice in enumerate(chunk["choices"]):
            at = out.setdefault(("choice", number if len(chunk["choices"]) > 1 else None,
                                 choice["index"]), {})  # fmt: skip
            for key, value in choice.items():
                if key == "delta":
                    for name, part in (value or {}).items():
                        if name in TEXT_KEYS and isinstance(part, str):
                            at[name] = at.get(name, "") + part
                        elif name == "tool_calls":
                            for frag in part:
                                call = at.setdefault(("tool", frag["index"]), {})
                                args = (frag.get("function") or {}).get("arguments")
                                call["arguments"] = call.get("arguments", "") + (args or "")
                                for field, v in [
                                    *frag.items(),
                                    *(frag.get("function") or {}).items(),
                                ]:
                                    if v is not None and field not in (
                                        "index",
                                        "function",
                                        "arguments",
                                    ):
                                        call.setdefault(field, []).append(v)
                        elif part is not None:
                            at.setdefault(name, []).append(part)
                elif key == "logprobs" and value:
                    for name, items in value.items():
                        at.setdefault(("logprobs", name), []).extend(items or [])
                elif key != "index" and value is not None:
                    at.setdefault(key, []).append(value)
    return out


def sdk_fold(chunks: list[dict[str, Any]]) -> Any:
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.current_completion_snapshot.model_dump(exclude={"created"})


def coalesced(stream: list[dict[str, Any]], cuts: list[int]) -> list[dict[str, Any]]:
    """Coalesce each read (the stream cut at ``cuts``) on its own, as the converter does."""
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    out: list[dict[str, Any]] = []
    for start, end in itertools.pairwise(bounds):
        batch = copy.deepcopy(stream[start:end])
        merged = coalesce_chunks(batch)
        if end - start == 1:
            assert merged == stream[start:end]  # a lone event goes out as it came
        out += merged
    return out


@fuzz()
@given(streams, st.lists(st.integers(0, 40), max_size=6))
def test_coalescing_keeps_what_a_client_builds(
    stream: list[dict[str, Any]], cuts: list[int]
) -> None:
    out = coalesced(stream, cuts)
    assert len(out) <= len(stream)
    assert fold(out) == fold(stream)


@st.composite
def sdk_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A well-formed stream, as the SDK insists: tool calls numbered 0, 1, ... in order."""

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"id": "chatcmpl-a", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]}  # fmt: skip

    stream, calls = [event({"role": "assistant", "content": ""})], 0
    for kind in draw(
        st.lists(st.sampled_from(["content", "reasoning", "call", "args"]), max_size=25)
    ):
        if kind == "content":
            stream.append(event({"content": draw(text)},
                                logprobs={"content": draw(st.lists(token, max_size=2))}))  # fmt: skip
        elif kind == "reasoning":
            stream.append(event({"reasoning_content": draw(text)}))
        elif kind == "call" or calls == 0:
            stream.append(event({"tool_calls": [{"index": calls, "id": f"call_{calls}", "type": "function",
                                                 "function": {"name": "f", "arguments": ""}}]}))  # fmt: skip
            calls += 1
        else:
            index = draw(st.integers(0, calls - 1))
            stream.append(
                event({"tool_calls": [{"index": index, "function": {"arguments": draw(text)}}]})
            )
    stream.append(event({}, draw(st.sampled_from(["stop", "length", "tool_calls"]))))
    if draw(st.booleans()):
        stream.append({**event({}), "choices": [], "usage": draw(usage)})
    return stream


@fuzz(0.5)
@given(sdk_streams(), st.lists(st.integers(0, 40), max_size=6))
def test_the_openai_sdk_builds_the_same_completion(
    stream: list[dict[str, Any]], cuts: list[int]
) -> None:
    out = coalesced(stream, cuts)
    assert sdk_fold(out) == sdk_fold(stream)


@fuzz(0.5)
@given(st.lists(st.sampled_from(["He", "llo", " wor", "ld"]), min_size=2, max_size=20))
def test_a_plain_text_read_becomes_one_chunk(parts: list[str]) -> None:
    stream = [{"id": "c", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
              for p in parts]  # fmt: skip
    out = coalesce_chunks(copy.deepcopy(stream))
    assert len(out) == 1 and out[0]["choices"][0]["delta"]["content"] == "".join(parts)
