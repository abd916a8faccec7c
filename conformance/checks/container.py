"""SageMaker container contract: /ping, /invocations, the route, headers, model "", body size."""

from __future__ import annotations

import threading
import time
from typing import Final

from .._context import CheckContext
from .._exchange import Exchange
from .._registry import check
from .._schema import completion_problems
from ._prompts import LONG_PROMPT, user

PING_TIMEOUT: Final = 2.0  # SageMaker gives each /ping 2 s
IDLE_PINGS: Final = 5
BUSY_PINGS: Final = 10
LARGE_BODY_BYTES: Final = 5_900_000  # just under InvokeEndpoint's 6,291,456-byte cap
SAGEMAKER_HEADERS: Final = {
    "X-Amzn-SageMaker-Custom-Attributes": "a=b",
    "X-Amzn-SageMaker-Inference-Id": "conformance-kit-0001",
    "X-Amzn-SageMaker-Target-Variant": "AllTraffic",
    "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
}


def _ping_ok(ex: Exchange, when: str) -> None:
    if ex.status is None:
        raise ex.failure(
            f"GET /ping {when} did not answer within {PING_TIMEOUT:g} s: "
            f"{ex.transport_error}; SageMaker marks the container unhealthy"
        )
    if ex.status != 200:
        raise ex.failure(f"GET /ping {when} got HTTP {ex.status}; SageMaker needs 200")


@check("container.ping", "MUST", modes="direct", requests=IDLE_PINGS + BUSY_PINGS + 1)
def ping_answers(ctx: CheckContext) -> str:
    """GET /ping returns 200 within 2 s, also while a generation is running."""
    for _ in range(IDLE_PINGS):
        _ping_ok(ctx.get("/ping", timeout=PING_TIMEOUT), "when idle")
    body = ctx.body(messages=user(LONG_PROMPT), max_completion_tokens=256)
    holder: list[Exchange] = []
    worker = threading.Thread(target=lambda: holder.append(ctx.stream(body, cache=False)))
    worker.start()
    pings: list[Exchange] = []
    while worker.is_alive() and len(pings) < BUSY_PINGS:
        pings.append(ctx.get("/ping", timeout=PING_TIMEOUT))
        time.sleep(0.01)
    worker.join()
    for ping in pings:
        _ping_ok(ping, "during a generation")
    gen = holder[0]
    if gen.status != 200 or not gen.chunks:
        return f"{IDLE_PINGS} idle pings passed; the long generation failed ({gen.describe()})"
    first, last = gen.started + gen.chunks[0][0], gen.started + gen.chunks[-1][0]
    overlapping = sum(1 for p in pings if first <= p.started + p.elapsed <= last)
    if not overlapping:
        return f"{IDLE_PINGS} idle pings passed; no ping overlapped the generation (too short)"
    return f"{IDLE_PINGS} idle pings and {overlapping} during a generation answered 200"


@check("container.invocations", "SHOULD", modes="direct", requests=2)
def invocations_answers_chat(ctx: CheckContext) -> None:
    """POST /invocations answers a chat body like /v1/chat/completions (stream and not)."""
    ex = ctx.expect_ok(ctx.chat(path="/invocations"), "POST /invocations")
    problems = completion_problems(ex.json)
    if problems:
        raise ex.failure(f"/invocations did not return a chat.completion: {problems[0]}")
    st = ctx.stream(path="/invocations")
    if not ctx.events(st, "POST /invocations with stream: true"):
        raise st.failure("/invocations with stream: true streamed no chat chunks")


def _is_model_refusal(ex: Exchange) -> bool:
    data = ex.json
    err = data.get("error") if isinstance(data, dict) else None
    return isinstance(err, dict) and (
        err.get("param") == "model" or "model" in str(err.get("message"))
    )


@check("container.route", "MUST")
def route_exists(ctx: CheckContext) -> str | None:
    """POST /v1/chat/completions (through the route, if any) answers the default body with 200."""
    ex = ctx.chat()
    if ex.status == 200:
        return None
    if ex.status is None:
        raise ex.failure(f"the chat route did not answer: {ex.transport_error}")
    if ex.status in (404, 405) and not _is_model_refusal(ex):
        raise ex.failure(
            f"the chat route is missing: {ex.describe()}; serve POST "
            "/v1/chat/completions (SageMaker forwards the OpenAI route there)"
        )
    if _is_model_refusal(ex) and ctx.model == "":
        return f'the route exists; model "" is refused ({ex.describe()}); see container.empty_model'
    raise ex.failure(f"the default request was refused: {ex.describe()}")


@check("container.json_charset", "SHOULD")
def accepts_json_charset(ctx: CheckContext) -> None:
    """`Content-Type: application/json; charset=utf-8` is accepted like plain JSON."""
    ex = ctx.chat(headers={"Content-Type": "application/json; charset=utf-8"})
    ctx.expect_ok(ex, "a body sent as 'application/json; charset=utf-8'")


@check("container.ignores_sagemaker_headers", "MUST")
def ignores_sagemaker_headers(ctx: CheckContext) -> str:
    """X-Amzn-SageMaker-* headers and a bogus Authorization header change nothing."""
    headers: dict[str, str | None] = dict(SAGEMAKER_HEADERS)
    if ctx.mode == "direct":
        # SageMaker authenticates the caller itself; a container demanding its own API key
        # (vLLM --api-key) would refuse every request that reaches it through the route.
        headers["Authorization"] = "Bearer not-a-key-the-container-should-check"
    ex = ctx.expect_ok(ctx.chat(headers=headers), "the default request with SageMaker headers")
    problems = completion_problems(ex.json)
    if problems:
        raise ex.failure(f"with SageMaker headers the answer is no chat.completion: {problems[0]}")
    sent = ", ".join(sorted(headers))
    return f"answered 200 with {sent}"


@check("container.empty_model", "MUST", requests=2)
def accepts_empty_model(ctx: CheckContext) -> str | None:
    """`model: ""` is accepted, streaming and not (SageMaker clients send it)."""
    notes = []
    for ex in (ctx.chat(ctx.body(model="")), ctx.stream(ctx.body(model=""))):
        kind = "streaming " if ex.stream else ""
        if ex.status != 200:
            raise ex.failure(
                f'a {kind}request with model "" got {ex.describe()}; accept "" '
                "and serve the deployed model (routing is by endpoint name)"
            )
        data = ex.json if not ex.stream else next(iter(ctx.chunks(ex)), None)
        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, str):
            raise ex.failure(
                f"with model \"\" the {kind}response 'model' is {model!r}, not a string"
            )
        if model == "":
            notes.append(f'the {kind}response echoes model "" (clients may show it blank)')
    return "; ".join(notes) or None


@check("container.large_body", "SHOULD", modes=("direct", "mock"))
def large_body_not_refused(ctx: CheckContext) -> str:
    """A 5.9 MB body is not refused at the transport (413 or a reset); a 400 is fine."""
    filler = "lorem " * (LARGE_BODY_BYTES // 6)
    ex = ctx.chat(ctx.body(messages=user(filler)))
    if ex.status is None:
        raise ex.failure(
            f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body broke the connection "
            f"({ex.transport_error}); SageMaker allows 6 MB bodies"
        )
    if ex.status == 413 or ex.status >= 500:
        raise ex.failure(
            f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body got {ex.describe()}; "
            "raise the server's body limit to at least 6 MB"
        )
    return f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body got {ex.describe()}"
