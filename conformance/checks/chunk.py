"""Chunk semantics of a stream: schema, stable ids, roles, finish reasons, usage, n, logprobs."""

from __future__ import annotations

from typing import Any

from .._engine._context import CheckContext
from .._engine._registry import check
from .._wire._exchange import Exchange
from ._schema import breaking, chunk_problems, logprob_problems, nullable, usage_problems


def _choices(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in chunk.get("choices") or [] if isinstance(c, dict)]


def _delta(choice: dict[str, Any]) -> dict[str, Any]:
    delta = choice.get("delta")
    return delta if isinstance(delta, dict) else {}


def _has_payload(delta: dict[str, Any]) -> bool:
    return bool(delta.get("content") or delta.get("tool_calls") or delta.get("reasoning_content"))


@check("chunk.schema", "MUST")
def chunk_schema(ctx: CheckContext) -> None:
    """Every chunk is a valid `chat.completion.chunk` (id, object, int created, choices).

    Why: the Vercel AI SDK validates each chunk and drops one whose `created` is a string
    (tests/clients/test_evidence.py, fault `string_created`). A key whose value is null left
    out (`finish_reason` until the last chunk) breaks no client of the matrix: every one
    returned the whole answer (fault `omit_null_keys`); that is `chunk.null_keys`, in the
    strict layer. The other chunk checks build on this one.

    Fix: give every chunk `id`, `object: "chat.completion.chunk"`, an integer `created`,
    `model` and `choices`, each choice with `index`, `delta` and a `finish_reason` key.
    """
    ex = ctx.stream()
    for payload, raw in ctx.events(ex):
        problems = breaking(chunk_problems(payload))
        if problems:
            raise ex.failure(f"invalid chunk: {problems[0]}", raw)


@check("chunk.null_keys", "SHOULD", layer="spec", after="chunk.schema")
def chunk_null_keys(ctx: CheckContext) -> None:
    """Every chunk's choices carry `finish_reason`, null until the last.

    Why: the specification lists `finish_reason` as required (nullable) in every chunk; no
    client of the matrix needs it before the last chunk (tests/clients/test_evidence.py,
    fault `omit_null_keys`; transformers serve 5.23 leaves it out).

    Fix: send `"finish_reason": null` in every chunk but the last of each choice.
    """
    ex = ctx.stream()
    for payload, raw in ctx.events(ex):
        problems = nullable(chunk_problems(payload))
        if problems:
            raise ex.failure(f"off-spec chunk: {problems[0]}", raw)


@check("chunk.stable_id", "SHOULD", layer="spec", after="chunk.schema")
def stable_id(ctx: CheckContext) -> None:
    """`id` is non-empty and identical in every chunk; `created` and `model` are stable.

    Why: the specification gives every chunk of a stream the same `id`, `created` and
    `model`. No client of the matrix needs it: each one joined a stream whose id changed from
    chunk to chunk into the right answer (tests/clients/test_evidence.py, fault
    `unstable_id`); UIs that key messages on the id may still split the reply.

    Fix: create the id, `created` and `model` once per request and repeat them in every
    chunk of its stream.
    """
    ex = ctx.stream()
    events = ctx.events(ex)
    if not events:
        return
    first = events[0][0]
    if not first.get("id"):
        raise ex.failure(f"the chunk id is {first.get('id')!r}; it must be non-empty", events[0][1])
    for key in ("id", "created", "model"):
        for payload, raw in events[1:]:
            if payload.get(key) != first.get(key):
                raise ex.failure(
                    f"'{key}' changed within one stream: {first.get(key)!r} then "
                    f"{payload.get(key)!r}; clients split the reply into several "
                    "messages",
                    raw,
                )


def role_problem(chunks: list[tuple[dict[str, Any], bytes]]) -> tuple[str, bytes] | None:
    """Per choice index the first delta says role "assistant"; no `role: ""` anywhere."""
    seen: set[int] = set()
    for payload, raw in chunks:
        for choice in _choices(payload):
            index, delta = choice.get("index"), _delta(choice)
            if delta.get("role") == "":
                return 'a delta has role ""; omit role after the first delta', raw
            if index in seen or not isinstance(index, int):
                continue
            seen.add(index)
            if delta.get("role") != "assistant":
                return (
                    f"the first delta of choice {index} has role {delta.get('role')!r}, "
                    "expected 'assistant'"
                ), raw
    return None


@check("chunk.role_first", "MUST")
def role_first(ctx: CheckContext) -> None:
    """The first delta of each choice carries `role: "assistant"`.

    Why: openai-node's stream helper (`chat.completions.stream()`, what its tool runner
    uses) throws "missing role for choice 0" on a stream whose first delta has no role
    (tests/clients/test_evidence.py, fault `missing_role`).

    Fix: send `delta: {"role": "assistant", ...}` in the first chunk of each choice, and
    omit `role` (never `""`) afterwards.
    """
    ex = ctx.stream()
    problem = role_problem(ctx.events(ex))
    if problem:
        raise ex.failure(*problem)


def finish_problem(chunks: list[tuple[dict[str, Any], bytes]]) -> tuple[str, bytes] | None:
    """Per choice exactly one non-null finish_reason, after all of its content."""
    finished: dict[int, bytes] = {}
    indices: set[int] = set()
    for payload, raw in chunks:
        for choice in _choices(payload):
            index = choice.get("index")
            if not isinstance(index, int):
                continue
            indices.add(index)
            if index in finished and _has_payload(_delta(choice)):
                return f"choice {index} has content after its finish_reason", raw
            if choice.get("finish_reason") is not None:
                if index in finished:
                    return f"choice {index} has more than one finish_reason", raw
                finished[index] = raw
    if not indices:
        return "the stream carried no choices at all", chunks[-1][1] if chunks else b""
    missing = sorted(indices - finished.keys())
    if missing:
        last = chunks[-1][1] if chunks else b""
        return f"choice(s) {missing} never got a finish_reason", last
    return None


@check("chunk.finish_reason", "MUST", after="chunk.schema")
def one_finish_reason(ctx: CheckContext) -> None:
    """Exactly one `finish_reason` per choice, after its content.

    Why: clients finish a choice when they see its `finish_reason`; content after it is
    dropped, and a choice that never gets one looks truncated.

    Fix: send `finish_reason: null` on every chunk but the last of each choice, and the
    final reason (`stop`, `length`, `tool_calls`) once, after the choice's last content.
    """
    ex = ctx.stream()
    problem = finish_problem(ctx.events(ex))
    if problem:
        raise ex.failure(*problem)


@check("chunk.no_empty_choices", "SHOULD", layer="spec")
def no_empty_choices(ctx: CheckContext) -> str | None:
    """No `choices: []` and no usage unless `include_usage` was asked.

    Why: the specification sends the usage chunk only when asked for. No client of the
    matrix breaks on an unasked one (tests/clients/test_evidence.py, fault
    `usage_without_include`), but code written from the AWS sample, which reads
    `chunk.choices[0].delta.content` with no guard, raises IndexError on it.

    Fix: send a usage-only chunk (with `choices: []`) only when the request sets
    `stream_options: {"include_usage": true}`.
    """
    ex = ctx.stream()
    usage_riding = False
    for payload, raw in ctx.events(ex):
        if payload.get("choices") == []:
            raise ex.failure(
                "a chunk has choices: [] although include_usage was not asked; "
                "the AWS sample client indexes choices[0] and crashes",
                raw,
            )
        # Usage on a chunk that still has its choices (transformers serve puts it on the finish
        # chunk) is off-spec but breaks no client: only an empty choices list does.
        usage_riding = usage_riding or payload.get("usage") is not None
    if usage_riding:
        return "a chunk with choices carries usage although include_usage was not asked (harmless)"
    return None


def _usage_problem(ex: Exchange, events: list[tuple[dict[str, Any], bytes]]) -> str | None:
    with_usage = [(i, p, raw) for i, (p, raw) in enumerate(events) if p.get("usage") is not None]
    if not with_usage:
        return "include_usage was ignored: no chunk carries usage"
    if len(with_usage) > 1:
        return f"{len(with_usage)} chunks carry usage; exactly one may"
    i, payload, _ = with_usage[0]
    if "choices" not in payload:
        return "the usage chunk lacks the 'choices' key; the OpenAI SDK rejects it"
    if payload["choices"] != []:
        return "the usage chunk has non-empty choices; send it separately with choices: []"
    if i != len(events) - 1:
        return "the usage chunk is not the last chunk before [DONE]"
    problems = usage_problems(payload["usage"])
    return problems[0] if problems else None


@check("chunk.usage_chunk", "MUST", requires="include_usage")
def usage_chunk(ctx: CheckContext) -> None:
    """With include_usage, the stream carries the usage (prompt and completion tokens).

    Why: a client that asks for usage and gets none loses it silently: openai-python (2.x and
    3.x), LangChain, openai-node and the Vercel AI SDK report no usage when the container
    ignores `include_usage` (tests/clients/test_evidence.py, fault `ignore_include_usage`;
    llama-cpp-python 0.3.36 does).

    Fix: with `stream_options.include_usage`, send one last chunk with `choices: []` and
    `usage`, then `data: [DONE]` (vLLM does; do not force it on with
    `--enable-force-include-usage`).
    """
    ex = ctx.probe("include_usage")
    events = ctx.events(ex, "the include_usage stream")
    with_usage = [raw for p, raw in events if p.get("usage") is not None]
    if not with_usage:
        raise ex.failure(
            "include_usage was ignored: no chunk carries usage", events[-1][1] if events else b""
        )
    usage = next(p["usage"] for p, _ in events if p.get("usage") is not None)
    problems = usage_problems(usage)
    if problems:
        raise ex.failure(problems[0], with_usage[0])


@check("chunk.usage_chunk_shape", "SHOULD", layer="spec", after="chunk.usage_chunk")
def usage_chunk_shape(ctx: CheckContext) -> None:
    """With include_usage: one final usage chunk with `choices: []`, before `[DONE]`.

    Why: the specification puts usage in one extra chunk with empty `choices` right before
    `[DONE]`. No client of the matrix needs it there: each one read the usage from the
    finish chunk too (tests/clients/test_evidence.py, fault `usage_with_choices`;
    transformers serve 5.23 does this).

    Fix: with `stream_options.include_usage`, send one last chunk with `choices: []` and
    `usage`, then `data: [DONE]`; other chunks carry `"usage": null`.
    """
    ex = ctx.probe("include_usage")
    events = ctx.events(ex, "the include_usage stream")
    problem = _usage_problem(ex, events)
    if problem:
        with_usage = [raw for p, raw in events if p.get("usage") is not None]
        raise ex.failure(problem, (with_usage or [events[-1][1] if events else b""])[0])


@check("chunk.stream_options_variants", "SHOULD", requests=2)
def stream_options_variants(ctx: CheckContext) -> None:
    """`stream_options: null` streams; `stream_options` without stream is never a 5xx.

    Why: clients and SDK wrappers send `stream_options: null`, or `stream_options` with
    `stream: false`; TGI used to refuse the first, and a 5xx for either is retried.

    Fix: treat `stream_options: null` as absent, and ignore `stream_options` (or refuse it
    with a 400) when the request does not stream.
    """
    ex = ctx.stream(ctx.body(stream_options=None))
    ctx.events(ex, "a stream with stream_options: null")
    ex = ctx.chat(ctx.body(stream_options={"include_usage": True}))
    if ex.status is None or ex.status >= 500:
        raise ex.failure(
            f"stream_options with stream: false got {ex.describe()}; answer 200 "
            "or a 400 JSON error, never a 5xx (the SDK retries it)"
        )


@check("chunk.no_error_key", "MUST")
def no_error_key(ctx: CheckContext) -> None:
    """No chunk of a successful stream has a top-level `error` key (not even null).

    Why: openai-python raises `APIError` on any chunk with a truthy `error`, and openai-go on
    any `error` key at all, so a successful stream that carries one fails in those clients.

    Fix: leave `error` out of normal chunks; send it only in a final error frame when the
    generation really failed.
    """
    ex = ctx.stream()
    for payload, raw in ctx.events(ex, errors=True):
        if "error" in payload:
            what = "an error frame" if payload["error"] else f"'error': {payload['error']!r}"
            raise ex.failure(
                f"a stream for a valid request carried {what}; openai-python "
                "raises on a truthy error and openai-go on any error key",
                raw,
            )


@check("chunk.n", "SHOULD", requires="n", requests=2, after=("chat.schema", "chunk.schema"))
def honours_n(ctx: CheckContext) -> None:
    """`n: 2` gives two choices (index 0 and 1), streaming and not.

    Why: a client that asks for two choices and silently gets one loses the second answer
    without any error.

    Fix: honour `n` (one choice per index, each with its own role and finish_reason), or
    refuse `n > 1` with a 400 naming `n`.
    """
    single = ctx.probe("n")
    ctx.expect_ok(single, "n: 2")
    data = single.json if isinstance(single.json, dict) else {}
    indices = [c.get("index") for c in _choices(data)]
    if len(indices) != 2 or set(indices) != {0, 1}:
        raise single.failure(
            f"n: 2 gave choice indices {indices}; the container ignores n "
            "silently: honour it or refuse it with a 400"
        )
    ex = ctx.stream(ctx.probe_body("n"))
    events = ctx.events(ex, "the n: 2 stream")
    seen = {c.get("index") for p, _ in events for c in _choices(p)}
    if seen != {0, 1}:
        raise ex.failure(
            f"the n: 2 stream has choice indices {sorted(seen, key=str)}, expected 0 and 1"
        )
    problem = role_problem(events) or finish_problem(events)
    if problem:
        raise ex.failure(*problem)


@check("chunk.logprobs", "SHOULD", requires="logprobs", requests=2, after="chat.schema")
def honours_logprobs(ctx: CheckContext) -> None:
    """`logprobs` with `top_logprobs: 2` gives chat-style logprobs, streaming and not.

    Why: evaluation and routing tools read `choices[].logprobs.content`; the completions-era
    shape (`tokens`, `token_logprobs`) or a silent null breaks them.

    Fix: return `logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs"}]}`
    per choice (and per streamed delta), or refuse `logprobs` with a 400.
    """
    single = ctx.probe("logprobs")
    ctx.expect_ok(single, "logprobs: true")
    choices = _choices(single.json if isinstance(single.json, dict) else {})
    logprobs = choices[0].get("logprobs") if choices else None
    if logprobs is None:
        raise single.failure(
            "logprobs: true was ignored silently (logprobs is null); "
            "honour it or refuse it with a 400"
        )
    problems = logprob_problems(logprobs, 2)
    if problems:
        raise single.failure(problems[0])
    ex = ctx.stream(ctx.body(logprobs=True, top_logprobs=2))
    for payload, raw in ctx.events(ex, "the logprobs stream"):
        for choice in _choices(payload):
            if _delta(choice).get("content"):
                problems = logprob_problems(choice.get("logprobs"), 2)
                if problems:
                    raise ex.failure(f"streamed logprobs: {problems[0]}", raw)
