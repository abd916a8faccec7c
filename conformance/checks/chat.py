"""Non-streaming chat completions: content type, schema, usage, token limits, stop, JSON."""

from __future__ import annotations

import json
from typing import Any, Final

from .._engine._context import OMIT, CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from ._prompts import content_of, count_body, finish_of
from ._schema import breaking, completion_problems, nullable, usage_problems

LIMIT = 5


@check("chat.content_type", "MUST")
def nonstream_is_json(ctx: CheckContext) -> None:
    """A non-streaming answer is `application/json` holding one JSON object, not SSE.

    Why: the OpenAI Python SDK parses a non-streaming answer only when its Content-Type ends
    in `json`; otherwise it hands back the raw text instead of a `ChatCompletion`.

    Fix: answer requests without `stream: true` with one JSON object and
    `Content-Type: application/json`; stream only when the body asks for it.
    """
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
    """Required fields and types per the OpenAI spec; `created` is an int.

    Why: the Vercel AI SDK validates the answer and rejects one whose `created` is a string
    ("Invalid JSON response"; tests/clients/test_evidence.py, fault `string_created`). A key
    whose value is null left out (`logprobs`) breaks no client of the matrix: that is
    `chat.null_keys`, in the strict layer. The checks that read answers build on this one.

    Fix: return `id`, `object: "chat.completion"`, an integer `created`, `model` and
    `choices`, each with `index`, `message` (role, content), `finish_reason` and `logprobs`.
    """
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    problems = breaking(completion_problems(ex.json))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ex.failure(f"not a valid chat.completion: {problems[0]}{more}")


@check("chat.null_keys", "SHOULD", layer="spec", after="chat.schema")
def nonstream_null_keys(ctx: CheckContext) -> None:
    """Every choice carries the keys the spec requires even when null (`logprobs`).

    Why: the specification lists `logprobs` as required (nullable); no client of the matrix
    needs it: every one returned the whole answer without it (tests/clients/test_evidence.py,
    fault `omit_null_keys`; transformers serve 5.23 leaves it out).

    Fix: send `"logprobs": null` in every choice when logprobs were not asked for.
    """
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    problems = nullable(completion_problems(ex.json))
    if problems:
        raise ex.failure(f"off-spec chat.completion: {problems[0]}")


@check("chat.usage", "SHOULD")
def nonstream_usage(ctx: CheckContext) -> None:
    """`usage` is present with integer counts and total = prompt + completion.

    Why: clients and gateways (LiteLLM's cost tracking, LangChain callbacks) read `usage`
    to bill and to manage the context window.

    Fix: return `usage` with integer `prompt_tokens`, `completion_tokens` and
    `total_tokens`, the total being the sum of the other two.
    """
    ex = ctx.expect_ok(ctx.chat(), "the default request")
    data = ex.json if isinstance(ex.json, dict) else {}
    if "usage" not in data or data["usage"] is None:
        raise ex.failure("the answer has no 'usage'; clients use it for cost and context tracking")
    problems = usage_problems(data["usage"])
    if problems:
        raise ex.failure(problems[0])


def _tokens_used(data: Any) -> int | None:
    usage = data.get("usage") if isinstance(data, dict) else None
    used = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return used if isinstance(used, int) else None


def _longer_than_limit(ex: Exchange) -> bool | None:
    """Whether the uncapped answer is longer than LIMIT tokens (None: cannot tell)."""
    used = _tokens_used(ex.json)
    if used is not None:
        return used > LIMIT
    if finish_of(ex.json) == "length":
        return True  # cut at the default budget of 16, so longer than 5
    words = (content_of(ex.json) or "").split()
    return True if len(words) > LIMIT else None  # a word is at least one token


def _honours_limit(ctx: CheckContext, ex: Exchange, field: str) -> str:
    if ex.status != 200 or ex.cut is not None:
        ctx.expect_baseline(stream=False)
        raise ex.failure(
            f"'{field}' was refused: {ex.describe()}; accept it (the OpenAI SDK "
            "and LiteLLM send it)"
        )
    used = _tokens_used(ex.json)
    finish = finish_of(ex.json)
    if used is not None and used > LIMIT:
        raise ex.failure(f"'{field}': {LIMIT} was ignored: {used} completion tokens")
    if finish != "length":
        raise ex.failure(
            f"'{field}': {LIMIT} on an answer longer than {LIMIT} tokens gave finish_reason "
            f"{finish!r}, expected 'length'"
        )
    return f"{field}: {LIMIT} -> {used if used is not None else '?'} tokens, 'length'"


@check("chat.max_tokens", "SHOULD", requests=3, after="chat.schema")
def honours_token_limits(ctx: CheckContext) -> str:
    """Both `max_tokens` and `max_completion_tokens` cap the answer with finish "length".

    Why: clients bound cost and latency with these fields; the OpenAI SDK and LiteLLM send
    `max_completion_tokens`, older clients the deprecated `max_tokens`. No client breaks on an
    ignored cap; the cost is every token past it, generated, paid for and waited for. A cap is
    judged only against an answer that is longer than the cap without it.

    Fix: accept both names (`max_completion_tokens` wins when both are set), stop generating
    at the cap, and report `finish_reason: "length"` when the cap cut the answer.
    """
    uncapped = ctx.expect_ok(ctx.chat(count_body(ctx)), "the counting request")
    longer = _longer_than_limit(uncapped)
    if not longer:
        raise CheckSkipped(
            f"inconclusive: without a cap the whole answer fits in {LIMIT} tokens "
            f"({content_of(uncapped.json)!r}), so a cap of {LIMIT} cannot be judged"
        )
    modern = ctx.chat(count_body(ctx, max_completion_tokens=LIMIT))
    legacy = ctx.chat(count_body(ctx, max_completion_tokens=OMIT, max_tokens=LIMIT))
    notes = [
        _honours_limit(ctx, modern, "max_completion_tokens"),
        _honours_limit(ctx, legacy, "max_tokens"),
    ]
    return "; ".join(notes)


@check("chat.stop", "SHOULD", requests=2, after="chat.schema")
def honours_stop(ctx: CheckContext) -> str:
    """A `stop` string ends the answer before it, with finish_reason "stop".

    Why: agents and tool loops rely on `stop` sequences to end a turn. No client breaks on an
    ignored `stop`; the cost is the answer past it, generated, paid for and waited for, which
    openai-python hands back as is (tests/clients/test_evidence_features.py, fault
    `ignore_stop`).

    Fix: pass `stop` to the sampler, cut the answer before the first match (the stop
    string itself excluded), and report `finish_reason: "stop"`.
    """
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


WEATHER_SCHEMA: Final = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp_c": {"type": "integer"}},
    "required": ["city", "temp_c"],
    "additionalProperties": False,
}
SCHEMA_PROMPT: Final = "Give the weather in Paris as JSON, with city=Paris."
_TYPES: Final = {"city": str, "temp_c": int}


def _schema_problem(content: str | None) -> str | None:
    try:
        data = json.loads(content or "")
    except ValueError:
        return f"the content is not JSON: {(content or '')[:60]!r}"
    if not isinstance(data, dict):
        return f"the content is JSON but not an object: {content!r}"
    for key, kind in _TYPES.items():
        value = data.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"'{key}' must be {kind.__name__}, got {value!r}"
    extra = sorted(data.keys() - _TYPES.keys())
    return f"keys the schema forbids: {extra}" if extra else None


@check("chat.json_schema", "MUST", after="chat.schema")
def structured_output(ctx: CheckContext) -> str:
    """`response_format` `json_schema` gets content that the schema accepts.

    Why: structured output is parsed, not read: openai-python's `chat.completions.parse`
    raises a `ValidationError` when a container ignores `response_format` and answers in prose
    (tests/clients/test_evidence_features.py, fault `ignore_response_format`).

    Fix: constrain generation to the schema (vLLM and SGLang do with guided decoding; TGI
    takes `grammar`), or refuse `response_format` with a 400 naming it.
    """
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "weather", "schema": WEATHER_SCHEMA, "strict": True},
    }
    body = ctx.body(
        messages=[{"role": "user", "content": SCHEMA_PROMPT}],
        response_format=response_format,
        max_completion_tokens=64,
    )
    ex = ctx.chat(body)
    if ex.status is not None and 400 <= ex.status < 500 and ex.cut is None:
        ctx.expect_baseline(stream=False)  # blocked when the default request fails too
        raise CheckSkipped(f"response_format json_schema was refused cleanly ({ex.describe()})")
    ctx.expect_ok(ex, "a request with response_format json_schema")
    problem = _schema_problem(content_of(ex.json))
    if problem:
        raise ex.failure(f"response_format json_schema was not followed: {problem}")
    return f"content {content_of(ex.json)!r} follows the schema"
