"""Tool calling, when the container supports it (a clean 4xx refusal skips these checks)."""

from __future__ import annotations

import json
from typing import Any, Final

from .._engine._capabilities import TOOL_NAME, TOOL_PROMPT, WEATHER_TOOL
from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from ._prompts import finish_of
from ._schema import arguments_problems, tool_call_problems

NAMES: Final = {TOOL_NAME}


@check("tools.nonstream", "MUST", requires="tools", after="chat.schema")
def tool_calls_nonstream(ctx: CheckContext) -> str | None:
    """`tool_choice: "required"` yields well-formed `message.tool_calls`.

    Why: every client of the matrix (the OpenAI SDKs, LangChain, Strands, LiteLLM, the
    Vercel AI SDK) silently loses a tool call written as text instead of `tool_calls`: the
    agent gets prose and never calls the tool (tests/clients/test_evidence.py, fault
    `tools_as_text`; llama-cpp-python 0.3.36 without a tool parser does this).

    Fix: enable the engine's tool parser for the model (vLLM `--enable-auto-tool-choice
    --tool-call-parser ...`), or refuse `tools` with a 400 if the model cannot call them.
    """
    ex = ctx.probe("tools")
    ctx.expect_ok(ex, "the tool request")
    calls = _calls(ex)
    if not calls:
        raise ex.failure(
            "tools with tool_choice 'required' gave no tool_calls: the container "
            "ignores tools silently; honour them or refuse them with a 400"
        )
    for call in calls:
        problems = tool_call_problems(call, NAMES)
        if problems:
            raise ex.failure(problems[0])
    finish = finish_of(ex.json)
    if finish != "tool_calls":
        return f"finish_reason is {finish!r}; OpenAI sends 'tool_calls'"
    return None


def _stream_problem(events: list[tuple[dict[str, Any], bytes]]) -> tuple[str, bytes] | None:
    args: dict[tuple[int, int], str] = {}
    finishes: list[str] = []
    for payload, raw in events:
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            if choice.get("finish_reason"):
                finishes.append(choice["finish_reason"])
            for frag in delta.get("tool_calls") or []:
                index = frag.get("index") if isinstance(frag, dict) else None
                if not isinstance(index, int) or isinstance(index, bool):
                    return (
                        "a tool-call delta has no integer 'index'; the OpenAI SDK's stream "
                        "accumulator raises TypeError and other clients drop the call"
                    ), raw
                key = (choice.get("index", 0), index)
                fn = frag.get("function") or {}
                if key not in args:
                    if not frag.get("id") or frag.get("type") != "function" or not fn.get("name"):
                        return (
                            f"the first fragment of tool call {index} lacks id, "
                            "type 'function' or function.name"
                        ), raw
                    args[key] = ""
                args[key] += fn.get("arguments") or ""
    if not args:
        return "the stream carried no tool-call deltas although tools were required", b""
    for (_, index), text in sorted(args.items()):
        problems = arguments_problems(text)
        if problems:
            return f"tool call {index}: concatenated {problems[0]}", text.encode()
    if finishes.count("tool_calls") != 1:
        return f"finish_reasons were {finishes}, expected exactly one 'tool_calls'", b""
    return None


@check("tools.stream_deltas", "MUST", requires="tools", requests=2, after="chunk.schema")
def tool_call_deltas(ctx: CheckContext) -> None:
    """Each tool-call delta has an int `index`; the first carries id, type and name.

    Why: openai-python's stream accumulator (2.x and 3.x) merges tool-call fragments by
    `index` and raises TypeError without it, and openai-node's stream helper drops the call
    (tests/clients/test_evidence.py, fault `tool_delta_no_index`); a stream that carries the
    call as text loses it in every client (fault `tools_as_text`).

    Fix: give every `delta.tool_calls[]` fragment its integer `index`; put `id`,
    `type: "function"` and `function.name` in the first fragment, then stream `arguments`.
    """
    ex = ctx.stream(ctx.probe_body("tools"))
    problem = _stream_problem(ctx.events(ex, "the tool stream"))
    if problem:
        raise ex.failure(*problem)


def _followup(arguments: str) -> list[dict[str, Any]]:
    call = {
        "id": "call_kit_1",
        "type": "function",
        "function": {"name": TOOL_NAME, "arguments": arguments},
    }
    return [
        {"role": "user", "content": TOOL_PROMPT},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_kit_1", "content": json.dumps({"temp_c": 21})},
    ]


@check("tools.followup", "SHOULD", requires="tools", requests=2, after="chat.schema")
def tool_followup(ctx: CheckContext) -> None:
    """A second turn with the assistant's tool_calls and a `tool` message gets an answer.

    Why: every tool loop sends the tool's result back as a `tool` message after the
    assistant's `tool_calls`; a template that cannot render that turn breaks the loop.

    Fix: use a chat template that renders assistant `tool_calls` (with `content: null`) and
    `tool` messages, including calls whose arguments are `""` or `{}`.
    """
    for arguments in ("{}", ""):  # vLLM's no-argument tool-call test sends both
        body = ctx.body(
            messages=_followup(arguments), tools=[WEATHER_TOOL], max_completion_tokens=32
        )
        ex = ctx.expect_ok(ctx.chat(body), f"a tool-result turn (arguments {arguments!r})")
        try:
            message = ex.json["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise ex.failure("the tool-result turn did not return a message") from None
        if not message.get("content") and not message.get("tool_calls"):
            raise ex.failure("the tool-result turn returned neither content nor tool_calls")


TIME_TOOL: Final = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
BOTH_PROMPT: Final = "Call get_weather and get_time, both, with city=Paris."


def _answered(ctx: CheckContext, ex: Exchange, what: str) -> Exchange:
    # A clean 4xx refusal is honest: the caller learns the feature is missing.
    if ex.status is not None and 400 <= ex.status < 500 and ex.cut is None:
        ctx.expect_baseline(stream=False)  # blocked when the default request fails too
        raise CheckSkipped(f"{what} was refused cleanly ({ex.describe()})")
    return ctx.expect_ok(ex, what)


def _calls(ex: Exchange) -> list[Any]:
    try:
        calls = ex.json["choices"][0]["message"].get("tool_calls")
    except (KeyError, IndexError, TypeError, AttributeError):
        return []
    return calls if isinstance(calls, list) else []


@check("tools.named_choice", "MUST", requires="tools", after="tools.nonstream")
def named_tool_choice(ctx: CheckContext) -> str:
    """A named `tool_choice` calls that function, and no other, even when another fits better.

    Why: a forced call is how callers get structured output from a tool, or force an
    agent's step; a container that reads it as `required` calls the tool the prompt suggests
    instead, and openai-python hands back a call the caller never asked for, with no error
    (tests/clients/test_evidence_features.py, fault `ignore_named_tool_choice`).

    Fix: constrain generation to the named function (vLLM does so with guided decoding), or
    refuse a named `tool_choice` with a 400 naming `tool_choice`.
    """
    forced = {"type": "function", "function": {"name": "get_time"}}
    body = ctx.probe_body("tools")
    body.update(tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=forced)
    ex = _answered(ctx, ctx.chat(body), "a request with tool_choice naming get_time")
    names = [(call.get("function") or {}).get("name") for call in _calls(ex)]
    if names != ["get_time"]:
        raise ex.failure(
            f"tool_choice named get_time (the prompt asks for the weather) but the calls were "
            f"{names}; call exactly the named function"
        )
    return "the named function get_time was called, not the prompt's get_weather"


@check("tools.parallel", "MUST", requires="tools", requests=2, after="tools.stream_deltas")
def parallel_tool_calls(ctx: CheckContext) -> str:
    """Two tool calls in one turn have their own ids, and in a stream their own `index`.

    Why: openai-python's stream accumulator (and every client that merges deltas by `index`)
    joins calls that share an index into one call named `get_weatherget_time` with both
    arguments run together, so both calls are lost with no error
    (tests/clients/test_evidence_features.py, fault `parallel_same_index`).

    Fix: number the tool calls of a choice 0, 1, ... in `delta.tool_calls[].index`, give
    each its own `id`, and send each call's `id`, `type` and name in its first fragment.
    """
    body = ctx.probe_body("tools")
    body.update(
        messages=[{"role": "user", "content": BOTH_PROMPT}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        parallel_tool_calls=True,
        max_completion_tokens=128,
    )
    ex = _answered(ctx, ctx.chat(body), "a request asking for two tool calls")
    calls = _calls(ex)
    if len(calls) < 2:
        raise CheckSkipped(
            f"inconclusive: asked for two calls, the model made {len(calls)}; "
            "parallel calls cannot be judged"
        )
    ids = [call.get("id") for call in calls]
    if len(set(ids)) != len(ids):
        raise ex.failure(f"the parallel tool calls share ids: {ids}")
    stream = ctx.stream(body)
    problem = _stream_problem(ctx.events(stream, "the parallel tool-call stream"))
    if problem:
        raise stream.failure(*problem)
    return f"{len(calls)} calls, each with its own id and index"
