"""Error handling: OpenAI error envelopes, 4xx not 5xx, errors before and during a stream."""

from __future__ import annotations

from typing import Any, Final

from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from ._schema import error_problems

# Each of these is invalid per the OpenAI spec; a container must refuse it with a 4xx JSON error.
INVALID_BODIES: Final[dict[str, Any]] = {
    "empty object": {},
    "empty messages": {"messages": []},
    "messages as a string": {"messages": "x"},
    "temperature as a string": {"temperature": "hot"},
}
NON_JSON: Final = b"this is not JSON {"
UNSUPPORTED: Final[dict[str, Any]] = {
    "user": "conformance-kit",
    "metadata": {"purpose": "conformance"},
    "store": False,
    "parallel_tool_calls": False,
    "service_tier": "auto",
    "reasoning_effort": "low",
    "response_format": {"type": "text"},
    "seed": 7,
}


def _invalid(ctx: CheckContext, name: str, *, stream: bool = False) -> Exchange:
    template = INVALID_BODIES[name]
    body = ctx.body(**template) if template else {}
    if stream:
        body = {**body, "stream": True}
    return ctx.chat(body)


def _invalid_exchanges(ctx: CheckContext) -> list[tuple[str, Exchange]]:
    pairs = [(name, _invalid(ctx, name)) for name in INVALID_BODIES]
    return [*pairs, ("a non-JSON body", ctx.chat(content=NON_JSON))]


@check("errors.shape", "SHOULD", layer="spec", requests=len(INVALID_BODIES) + 1)
def error_envelope(ctx: CheckContext) -> str | None:
    """Invalid bodies get an error status with a JSON OpenAI error envelope.

    Why: the specification's errors are `{"error": {...}}`. Clients raise on the status
    alone: openai-python still raises `BadRequestError` for a plain-text 400
    (tests/clients/test_evidence.py), but its message says only "Error code: 400", so the
    user never reads why.

    Fix: answer every refused request with `{"error": {"message", "type", "param", "code"}}`
    and `Content-Type: application/json`, also for bodies that are not JSON at all.
    """
    notes = []
    for name, ex in _invalid_exchanges(ctx):
        if ex.status is None:
            raise ex.failure(f"{name}: no response ({ex.transport_error})")
        if ex.status < 400:
            raise ex.failure(f"{name} was accepted with HTTP {ex.status}; refuse it with a 400")
        if not ex.content_type.endswith("json") or ex.json is None:
            raise ex.failure(
                f"{name}: the HTTP {ex.status} error body is not JSON; send "
                '{"error": {"message", "type", "param", "code"}}'
            )
        problems, readable = error_problems(ex.json)
        if not readable:
            raise ex.failure(f"{name}: {problems[0]}")
        if problems:
            notes.append(f"{name}: {problems[0]}")
    return "; ".join(dict.fromkeys(notes)) or None


@check("errors.client_errors_not_5xx", "SHOULD", requests=len(INVALID_BODIES) + 3)
def client_errors_are_4xx(ctx: CheckContext) -> str:
    """Client mistakes get a 4xx, never a 5xx (the OpenAI SDK retries 5xx twice).

    Why: the cost is extra work: openai-python sends a request answered with a 500 three
    times before it raises (tests/clients/test_evidence.py, fault
    `server_error_on_bad_request`), so a 5xx for a request that can never succeed triples the
    load, and monitoring counts the client's mistake as an outage. The client still raises.

    Fix: validate the body (types, ranges such as `top_logprobs` <= 20, the token budget)
    before generating, and refuse what is invalid with a 400 OpenAI error.
    """
    cases = _invalid_exchanges(ctx)
    cases.append(("top_logprobs: 21", ctx.chat(ctx.body(logprobs=True, top_logprobs=21))))
    cases.append(
        (
            "max_completion_tokens beyond the context",
            ctx.chat(ctx.body(max_completion_tokens=10_000_000)),
        )
    )
    accepted = []
    for name, ex in cases:
        if ex.status is None:
            raise ex.failure(f"{name}: no response ({ex.transport_error})")
        if ex.status >= 500:
            raise ex.failure(
                f"{name} got {ex.describe()}; a client error must be a 4xx, or "
                "every SDK retries it (3x the load)"
            )
        if ex.status < 400:
            accepted.append(name)
    return f"accepted: {', '.join(accepted)}" if accepted else "every client error got a 4xx"


@check("errors.stream_rejected_before_start", "SHOULD", requests=2)
def stream_rejected_up_front(ctx: CheckContext) -> None:
    """Invalid streaming requests are refused with a 4xx JSON error before any SSE starts.

    Why: once a 200 and SSE headers are sent, clients expect chunks; an error inside the
    stream, or an empty one, is reported as a broken stream instead of a clear 4xx.

    Fix: validate the request before sending the response headers, and answer invalid
    streaming requests exactly as non-streaming ones: a 4xx with a JSON error body.
    """
    for name in ("messages as a string", "temperature as a string"):
        ex = _invalid(ctx, name, stream=True)
        if ex.status is not None and 400 <= ex.status < 500 and isinstance(ex.json, dict):
            continue
        raise ex.failure(
            f"{name} with stream: true got {ex.describe()}; refuse it with a 4xx "
            "JSON error before streaming",
            ex.body[:300],
        )


@check("errors.mid_stream", "MUST", modes="mock")
def mid_stream_error_frame(ctx: CheckContext) -> str:
    """An injected mid-stream failure ends in a JSON error frame the OpenAI SDK raises on.

    Why: a generation that fails after the 200 can only report it inside the stream; the
    OpenAI SDK raises `APIError` with `error.message` on a `data: {"error": {...}}` frame, and
    reads anything else as a broken or truncated answer. Text Generation Inference's flat
    `{"error": "message"}` loses the message: openai-python raises "An error occurred during
    streaming" instead (tests/clients/test_evidence_features.py, fault `flat_error_frame`).

    Fix: on a failure mid-stream send `data: {"error": {"message", "type", ...}}` built with a
    JSON encoder (not string formatting), then end the stream.
    """
    factory = ctx.target.fault_factory
    if factory is None:
        raise CheckSkipped(
            "needs fault injection, which only the built-in reference target "
            "has (--target reference)"
        )
    with factory(frozenset({"mid_stream_error"})) as faulty:
        inner = ctx.child(faulty)
        try:
            ex = inner.stream()
            # Blocked (skipped) when the faulty stream is unusable for another check's reason.
            events = inner.events(ex, "the faulty stream", errors=True)
        finally:
            inner.close()
            ctx.exchanges.extend(inner.exchanges)
    last = events[-1] if events else None
    problems, readable = error_problems(last[0] if last else None)
    if last is None or not readable:
        raise ex.failure(
            "the stream did not end with a JSON error frame "
            f'(data: {{"error": {{"message", "type", ...}}}}): {problems[0]}',
            ex.body[-300:],
        )
    sdk = ex.sdk
    if sdk.error_type != "APIError":
        if sdk.error_event is not None and not sdk.error_event.data.startswith("{"):
            raise CheckSkipped(
                f"blocked: the OpenAI Python SDK fails before the error frame "
                f"({sdk.error_type}); see sse.no_dataless_events"
            )
        raise ex.failure(
            f"the OpenAI Python SDK did not raise APIError on the error frame but "
            f"{ex.sdk.error_type or 'nothing'}",
            last[1],
        )
    return f"error frame read as APIError: {ex.sdk.error}"


@check("errors.unsupported_params", "INFO", requests=len(UNSUPPORTED))
def unsupported_params(ctx: CheckContext) -> str:
    """A matrix of which optional OpenAI fields are accepted or refused.

    Why: clients such as LiteLLM and LangChain pass fields like `user`, `metadata` and
    `reasoning_effort`; a container that refuses one breaks those clients only.

    Fix: accept and ignore optional fields you do not support, or refuse them with a 400
    naming the field in `error.param`; never answer them with a 5xx.
    """
    ctx.expect_baseline(stream=False)
    accepted, refused = [], []
    for name, value in UNSUPPORTED.items():
        ex = ctx.chat(ctx.body(**{name: value}))
        if ex.status == 200:
            accepted.append(name)
        elif ex.status is not None and 400 <= ex.status < 500 and isinstance(ex.json, dict):
            refused.append(f"{name} ({ex.status})")
        else:
            raise ex.failure(
                f"'{name}' got {ex.describe()}; accept it or refuse it with a 4xx JSON error"
            )
    return f"accepted: {', '.join(accepted) or 'none'}; refused: {', '.join(refused) or 'none'}"
