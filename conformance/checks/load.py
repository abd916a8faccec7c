"""Checks that load the target: they run after every other check, then a liveness probe.

A serial server busy with a 5.9 MB body, or still generating for a client that left, would
otherwise answer every later request late, and the verdicts after that point would be about
the kit's own stress rather than about the container.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final

from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from ._prompts import LONG_PROMPT, user
from .container import PING_TIMEOUT, ping_ok

BUSY_PINGS: Final = 10
# Pings are spread over the generation, not sent back to back: ten pings in a row take ~50 ms and
# were all over before a fast engine's first token (vLLM's comes after ~250 ms), so a passing
# engine was judged inconclusive or passed by chance.
PING_INTERVAL: Final = 0.1
LARGE_BODY_BYTES: Final = 5_900_000  # just under InvokeEndpoint's 6,291,456-byte cap
OVER_CONTEXT_WORDS: Final = 300_000  # beyond any context window in use today


@check(
    "container.ping_busy", "MUST", modes=("direct", "mock"), requests=BUSY_PINGS + 1, stage="load"
)
def ping_while_generating(ctx: CheckContext) -> str:
    """GET /ping still returns 200 within 2 s while a generation is running.

    Why: SageMaker itself keeps health-checking while the container serves traffic; a server
    that handles one request at a time misses those pings and is marked unhealthy
    mid-generation. In mock mode the generation goes through the route and the pings to the
    container itself.

    Fix: answer /ping from a handler that does not share the generation's worker or lock
    (an async server, or a separate thread), so it answers even during a long generation.
    """
    body = ctx.body(messages=user(LONG_PROMPT), max_completion_tokens=256)
    holder: list[Exchange] = []
    stopped: list[BaseException] = []

    def generate() -> None:
        try:
            holder.append(ctx.stream(body, cache=False))
        except BaseException as exc:  # RunStopped: re-raised in the runner's thread below
            stopped.append(exc)

    pings: list[Exchange] = []
    with ctx.container() as own:  # before the generation starts: live mode skips here
        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        while worker.is_alive() and len(pings) < BUSY_PINGS:
            pings.append(own.get("/ping", timeout=PING_TIMEOUT))
            worker.join(PING_INTERVAL)
        worker.join()
    if stopped:
        raise stopped[0]
    for ping in pings:
        ping_ok(ping, "during a generation")
    gen = holder[0]
    if gen.status != 200 or not gen.chunks:
        return f"the long generation failed ({gen.describe()}); {len(pings)} pings answered 200"
    first, last = gen.started + gen.chunks[0][0], gen.started + gen.chunks[-1][0]
    overlapping = sum(1 for p in pings if first <= p.started + p.elapsed <= last)
    if not overlapping:
        held = sum(1 for p in pings if p.started < last < p.started + p.elapsed)
        why = (
            f"{held} ping(s) sent during it were answered only after it ended (a serial "
            "server?), within 2 s"
            if held
            else f"{len(pings)} ping(s) answered 200, none during it"
        )
        raise CheckSkipped(
            f"inconclusive: the generation took {(last - first) * 1000:.0f} ms, too short to "
            f"ping during it; {why}"
        )
    return f"{overlapping} pings during a generation answered 200"


@check("container.large_body", "SHOULD", modes=("direct", "mock"), stage="load")
def large_body_not_refused(ctx: CheckContext) -> str:
    """A 5.9 MB body is not refused at the transport (413 or a reset); a 400 is fine.

    Why: SageMaker accepts request bodies up to 6,291,456 bytes; long conversations and
    images as base64 get near that, and a smaller server limit breaks them with a 413.

    Fix: raise the server's body limit to at least 6 MB (uvicorn has none; nginx needs
    `client_max_body_size 6m`); a too-long prompt may still be refused with a 400.
    """
    filler = "lorem " * (LARGE_BODY_BYTES // 6)
    ex = ctx.chat(ctx.body(messages=user(filler)))
    if ex.status is None:
        raise ex.failure(
            f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body got no answer "
            f"({ex.transport_error}); SageMaker allows 6 MB bodies (raise --request-timeout "
            "if the container is only slow to refuse it)"
        )
    if ex.status == 413 or ex.status >= 500:
        raise ex.failure(
            f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body got {ex.describe()}; "
            "raise the server's body limit to at least 6 MB"
        )
    return f"a {LARGE_BODY_BYTES / 1e6:.1f} MB body got {ex.describe()}"


@check("errors.context_overflow", "SHOULD", stage="load")
def context_overflow_is_4xx(ctx: CheckContext) -> str:
    """A prompt longer than the context window gets a 4xx, never a 5xx.

    Why: the cost is extra work: the prompt is the client's mistake, and openai-python
    sends a request answered with a 500 three times (tests/clients/test_evidence.py), so a
    5xx triples the load of the largest requests there are.

    Fix: check the prompt's token count against the context window before scheduling it, and
    refuse it with a 400 OpenAI error (vLLM answers 400 `context_length_exceeded`).
    """
    ex = ctx.chat(ctx.body(messages=user("word " * OVER_CONTEXT_WORDS)))
    if ex.status is None:
        raise ex.failure(
            f"a prompt over the context window got no answer ({ex.transport_error}); refuse "
            "it before tokenizing it all (raise --request-timeout if the container is only slow)"
        )
    if ex.status >= 500:
        raise ex.failure(
            f"a prompt over the context window got {ex.describe()}; refuse it with a 4xx, "
            "or every SDK retries it (3x the load)"
        )
    if ex.status < 400:
        return f"a {OVER_CONTEXT_WORDS:,}-word prompt was accepted ({ex.describe()})"
    return f"a {OVER_CONTEXT_WORDS:,}-word prompt got {ex.describe()}"


@check("container.alive_after_load", "SHOULD", stage="probe")
def alive_after_load(ctx: CheckContext) -> str:
    """After the load checks, the target still answers a minimal request.

    Why: a container that a large body or an abandoned long generation leaves hung or busy
    stops serving everyone; SageMaker only notices when /ping starts failing.

    Fix: bound the work one request can cause (body size, prompt length, generation that
    stops when the client disconnects) and keep serving other requests meanwhile.
    """
    ex = ctx.alive()
    if ex.cut is not None:
        ctx.expect_baseline(stream=False)  # blocked when it was so before the load, too
    if ex.status is None:
        raise ex.failure(
            f"after the load checks the target stopped answering ({ex.transport_error})"
        )
    if ex.cut is not None or ex.status >= 500:
        raise ex.failure(f"after the load checks a minimal request got {ex.describe()}")
    return f"still answering: {ex.describe()}"


# Prometheus gauges of running generations, by engine: vLLM, SGLang, Text Generation Inference.
RUNNING_GAUGES: Final = (
    "vllm:num_requests_running",
    "sglang:num_running_reqs",
    "tgi_batch_current_size",
)
LEAVE_AFTER_BYTES: Final = 512  # a few events in, far from the end of a 1,024-token answer
STOP_WITHIN_S: Final = 2.0  # generous: an engine aborts a request within a decode step or two
POLL_S: Final = 0.1
NEXT_WITHIN_S: Final = 1.0  # without metrics: the next answer may take this long ...
SLOWER: Final = 5.0  # ... or this many times an idle one, whichever is longer


def running_of(ex: Exchange) -> float | None:
    """The sum of the running-generation gauges in a /metrics answer; None when it has none."""
    if ex.status != 200:
        return None
    found: float | None = None
    for line in ex.body.decode(errors="replace").splitlines():
        name, _, rest = line.partition("{") if "{" in line.split(" ", 1)[0] else line.partition(" ")
        if name not in RUNNING_GAUGES:
            continue
        try:
            value = float(rest.rsplit(" ", 1)[-1])
        except ValueError:
            continue
        found = (found or 0.0) + value
    return found


@check("container.stops_abandoned", "SHOULD", modes=("direct", "mock"), requests=40, stage="load")
def stops_abandoned_generation(ctx: CheckContext) -> str:
    """A stream the client leaves stops its generation: the GPU is free for the next request.

    Why: no client breaks, but a client that leaves (a user who stops an answer,
    openai-python's `stream.close()`, a timeout) should free the GPU: a container that generates
    the rest of an answer nobody reads keeps a slot busy, and every later request waits or
    pays for it (tests/clients/test_evidence_features.py, fault `generate_after_disconnect`).
    Read from `GET /metrics` on the container (vLLM's `vllm:num_requests_running`, SGLang's
    `sglang:num_running_reqs`, TGI's `tgi_batch_current_size`); without one, from the next
    answer: a 1-token answer right after the client left must not wait for the generation
    (more than 1 s and 5 times an idle one), which only a server that serves one request at
    a time shows.

    Fix: abort the generation when the client disconnects (vLLM, SGLang and TGI do); behind
    a proxy of your own, make it close the upstream connection when the client leaves.
    """
    body = ctx.body(messages=user(LONG_PROMPT), max_completion_tokens=1024)
    with ctx.container() as own:
        idle = running_of(own.get("/metrics"))
        if idle is None:
            return _judged_by_next_answer(own, body)
        left = _leave(own, body)
        running, waited = idle + 1, 0.0
        while waited < STOP_WITHIN_S:
            running = running_of(own.get("/metrics")) or 0.0
            if running <= idle:
                return (
                    f"the generation stopped within {waited + POLL_S:.1f} s of the client leaving"
                )
            time.sleep(POLL_S)
            waited += POLL_S
    raise left.failure(
        f"{running - idle:g} generation(s) still running {STOP_WITHIN_S:g} s after the client "
        "left the stream; abort a generation when its client disconnects"
    )


def _leave(own: CheckContext, body: dict[str, Any]) -> Exchange:
    """A long stream, left a few events in."""
    left = own.stream(body, cache=False, cap=LEAVE_AFTER_BYTES)
    if left.status != 200:
        own.expect_ok(left, "the long stream")  # blocked when the default stream fails too
    if left.cut is None:
        raise CheckSkipped(
            f"inconclusive: the answer ended ({left.describe()}) before the kit left it"
        )
    return left


def _judged_by_next_answer(own: CheckContext, body: dict[str, Any]) -> str:
    idle = min(own.alive().elapsed for _ in range(2))
    left = _leave(own, body)
    after = own.alive()
    if after.elapsed > max(NEXT_WITHIN_S, SLOWER * idle):
        raise left.failure(
            f"the next 1-token answer took {after.elapsed:.1f} s after the client left a "
            f"stream ({idle * 1000:.0f} ms idle): the container kept generating for nobody; "
            "abort a generation when its client disconnects"
        )
    return (
        f"no /metrics gauge: the next answer took {after.elapsed * 1000:.0f} ms "
        f"({idle * 1000:.0f} ms idle); a server that runs requests side by side can hide it"
    )
