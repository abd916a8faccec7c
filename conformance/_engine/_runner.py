"""The one engine behind the CLI, the pytest plugin and ``conformance.run()``: it runs checks.

Which checks (the catalogue, ``conformance.checks.select_checks``) is the caller's choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from .._wire._exchange import trim_text
from .._wire._limits import RunStopped
from .._wire._target import Target
from ._context import CheckContext
from ._registry import Check, CheckFailure, CheckSkipped, Outcome
from ._report import STOPPED_ANSWERING, Report, Result, Stop

__all__ = ["Report", "Result", "open_target", "request_bound", "run_check", "run_checks"]


def request_bound(checks: Iterable[Check]) -> int:
    """Most HTTP requests a run of ``checks`` can send (the cache usually sends far fewer).

    Each check declares its own requests; a capability probe may add one per capability,
    and the two default requests (stream and not) may be sent once for the blocked logic.
    """
    return 2 + sum(c.requests + len(c.requires) for c in checks)


def run_check(check: Check, ctx: CheckContext) -> Result:
    """Run one check: CheckFailure fails it, CheckSkipped skips it, anything else errors it.

    RunStopped (budget, signal) is not caught: the run stops and the runner reports it.
    """
    start = time.perf_counter()
    evidence: dict[str, Any] | None = None
    try:
        for capability in check.requires:
            ctx.require(capability)
        note = check.func(ctx)
        outcome, message = Outcome.PASSED, note or ""
    except CheckFailure as exc:
        outcome, message = Outcome.FAILED, exc.message
        evidence = {"sent": exc.sent, "received": exc.received}
    except CheckSkipped as exc:
        outcome, message = Outcome.SKIPPED, exc.reason
    except Exception as exc:  # a check bug or an unexpected target reply: never crash the run
        outcome, message = Outcome.ERRORED, trim_text(f"{type(exc).__name__}: {exc}", 500)
    duration = time.perf_counter() - start
    return _result(check, outcome, message, evidence, duration)


def _result(
    check: Check,
    outcome: Outcome,
    message: str,
    evidence: dict[str, Any] | None = None,
    duration: float = 0.0,
) -> Result:
    return Result(
        check.id, check.severity, outcome, message, evidence, duration, check.docs, check.fix
    )


def _blocked_by_prerequisite(check: Check, verdicts: dict[str, Result]) -> Result | None:
    for prerequisite in check.after:
        verdict = verdicts.get(prerequisite)
        if verdict is None:
            continue
        if verdict.outcome in (Outcome.FAILED, Outcome.ERRORED) or (
            verdict.outcome is Outcome.SKIPPED and verdict.message.startswith("blocked:")
        ):
            state = "was blocked" if verdict.outcome is Outcome.SKIPPED else verdict.outcome.value
            return _result(
                check,
                Outcome.SKIPPED,
                f"blocked: {prerequisite} {state}; this check builds on it, so fix "
                f"{prerequisite} first",
            )
    return None


def _stopped_answering(ctx: CheckContext, sent_before: int, after: Check) -> Stop | None:
    """When a check got no answer at all, ask once more with a minimal request."""
    if after.stage == "probe" or all(ex.status is not None for ex in ctx.exchanges[sent_before:]):
        return None
    probe = ctx.alive()
    if probe.status is not None:
        return None
    return Stop(
        STOPPED_ANSWERING,
        f"the target stopped answering after {after.id}: a minimal request then got "
        + probe.describe(),
        after.id,
    )


def _died_during(check: Check, result: Result) -> Result:
    # The failure is the target going silent, not the property this check is about.
    if result.outcome is not Outcome.FAILED:
        return result
    return _result(
        check,
        Outcome.SKIPPED,
        f"blocked: the target stopped answering during this check ({result.message})",
        result.evidence,
        result.duration,
    )


def _not_run(check: Check, stop: Stop) -> Result:
    if stop.kind == STOPPED_ANSWERING:
        return _result(check, Outcome.SKIPPED, f"blocked: {stop.message}")
    after = f" after {stop.after}" if stop.after else " before any check finished"
    return _result(check, Outcome.SKIPPED, f"not run: {stop.message}{after}")


def run_checks(
    checks: Sequence[Check],
    ctx: CheckContext,
    *,
    on_result: Callable[[Check, Result], None] | None = None,
) -> Report:
    """Run ``checks`` in order against a ready context; checks of another mode are left out.

    The run stops early when the budget runs out, a signal arrives (``Interrupted``), or the
    target stops answering; the checks that did not run are then reported as not run or
    blocked, and ``Report.stopped`` says why.
    """
    start = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results: list[Result] = []
    verdicts: dict[str, Result] = {}
    stop: Stop | None = None
    last: str | None = None
    skipped_mode = tuple(c.id for c in checks if not c.applies_to(ctx.mode))
    for chk in (c for c in checks if c.applies_to(ctx.mode)):
        if stop is None:
            sent_before = len(ctx.exchanges)
            try:
                ctx.limits.check_budget()
                result = _blocked_by_prerequisite(chk, verdicts) or run_check(chk, ctx)
            except RunStopped as exc:
                stop = Stop(exc.kind, exc.message, last)
                result = _not_run(chk, stop)
            else:
                try:
                    stop = _stopped_answering(ctx, sent_before, chk)
                except RunStopped as exc:
                    stop = Stop(exc.kind, exc.message, chk.id)
                if stop is not None and stop.kind == STOPPED_ANSWERING:
                    result = _died_during(chk, result)
            last = chk.id
        else:
            result = _not_run(chk, stop)
        results.append(result)
        verdicts[chk.id] = result
        if on_result is not None:
            on_result(chk, result)
    return Report(
        target=ctx.target.label or ctx.target.base_url,
        mode=ctx.mode,
        results=tuple(results),
        duration=time.perf_counter() - start,
        requests=ctx.requests_sent,
        not_applicable=skipped_mode,
        started_at=started_at,
        budget=ctx.limits.budget,
        request_timeout=ctx.limits.request_timeout,
        stopped=stop,
    )


@contextmanager
def open_target(target: Target | str, mode: str | None = None) -> Iterator[Target]:
    """Resolve ``"reference"`` or a URL into a Target, starting local servers when needed."""
    if isinstance(target, Target):
        if mode is not None and mode != target.mode:
            raise ValueError(f"mode {mode!r} conflicts with the Target's mode {target.mode!r}")
        yield target
        return
    from ._local import local_target

    with local_target(target, mode or ("mock" if target == "reference" else "direct")) as resolved:
        yield resolved
