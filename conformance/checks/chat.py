"""Non-streaming chat completions: content type, schema, usage, token limits, stop."""

from __future__ import annotations

from typing import Any

from .._context import OMIT, CheckContext
from .._exchange import Exchange
from .._registry import CheckSkipped, check
from .._schema import completion_problems, usage_problems
from ._prompts import content_of, count_body, finish_of

LIMIT = 5


@check("chat.content_type", "MUST")
def nonstream_is_json(ctx: CheckContext) -> None:
    """A non-streaming answer is `application/json` holding one JSON object, not SSE."""
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    if ex.body.lstrip().startswith(b"data:"):
        raise ex.failure(
            "a request without stream: true was answered with SSE framing; "
            "answer stream: false (the default) with one JSON object"
        )
    if not ex.content_type.endswith("json"):
        raise ex.failure(
            f"Content-Type is {ex.headers.get('content-type')!r}; the OpenAI SDK "
            "then returns raw text instead of a ChatCompletion: send application/json"
        )
    if not isinstance(ex.json, dict):
        raise ex.failure("the body is not a JSON object")


@check("chat.schema", "MUST")
def nonstream_schema(ctx: CheckContext) -> None:
    """Required fields and types per the OpenAI spec; `created` is an int."""
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    problems = completion_problems(ex.json)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ex.failure(f"not a valid chat.completion: {problems[0]}{more}")


@check("chat.usage", "SHOULD")
def nonstream_usage(ctx: CheckContext) -> None:
    """`usage` is present with integer counts and total = prompt + completion."""
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    data = ex.json if isinstance(ex.json, dict) else {}
    if "usage" not in data or data["usage"] is None:
        raise ex.failure("the answer has no 'usage'; clients use it for cost and context tracking")
    problems = usage_problems(data["usage"])
    if problems:
        raise ex.failure(problems[0])


def _honours_limit(ctx: CheckContext, ex: Exchange, field: str) -> str:
    if ex.status != 200:
        ctx.expect_baseline(stream=False)
        raise ex.failure(
            f"'{field}' was refused: {ex.describe()}; accept it (the OpenAI SDK "
            "and LiteLLM send it)"
        )
    data: Any = ex.json
    finish = finish_of(data)
    usage = data.get("usage") if isinstance(data, dict) else None
    used = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if isinstance(used, int) and used > LIMIT:
        raise ex.failure(f"'{field}': {LIMIT} was ignored: {used} completion tokens")
    if finish != "length":
        raise ex.failure(
            f"'{field}': {LIMIT} on a long answer gave finish_reason {finish!r}, expected 'length'"
        )
    return f"{field}: {LIMIT} -> {used if used is not None else '?'} tokens, 'length'"


@check("chat.max_tokens", "MUST", requests=2)
def honours_token_limits(ctx: CheckContext) -> str:
    """Both `max_tokens` and `max_completion_tokens` cap the answer with finish "length"."""
    modern = ctx.chat(count_body(ctx, max_completion_tokens=LIMIT))
    legacy = ctx.chat(count_body(ctx, max_completion_tokens=OMIT, max_tokens=LIMIT))
    notes = [
        _honours_limit(ctx, modern, "max_completion_tokens"),
        _honours_limit(ctx, legacy, "max_tokens"),
    ]
    return "; ".join(notes)


@check("chat.stop", "SHOULD", requests=2)
def honours_stop(ctx: CheckContext) -> str:
    """A `stop` string ends the answer before it, with finish_reason "stop"."""
    base = ctx.expect_ok(ctx.chat(count_body(ctx)), "the counting request")
    words = (content_of(base.json) or "").split()
    if len(words) < 3:
        raise CheckSkipped(
            f"inconclusive: the answer {content_of(base.json)!r} is too short to "
            "pick a stop string from"
        )
    stop = words[2]
    ex = ctx.chat(count_body(ctx, stop=[stop], seed=7, top_p=1))
    ctx.expect_ok(ex, f"a request with stop={[stop]!r}, seed and top_p")
    content, finish = content_of(ex.json), finish_of(ex.json)
    if content is None or stop in content:
        raise ex.failure(f"stop={[stop]!r} was not honoured: content {content!r}")
    if finish != "stop":
        raise ex.failure(f"stop={[stop]!r} gave finish_reason {finish!r}, expected 'stop'")
    return f"stop={[stop]!r} -> {content!r}"
