"""The one engine behind the CLI, the pytest plugin and ``conformance.run()``: it runs checks.

Which checks (the catalogue, ``conformance.checks.select_checks``) is the caller's choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from .._wire._exchange import Exchange, trim_text
from .._wire._limits import Limits, RunStopped
from .._wire._target import Target
from ._context import CheckContext
from ._registry import Check, CheckFailure, CheckSkipped, Outcome
from ._report import STOPPED_ANSWERING, Report, Result, Stop, Timeline

__all__ = [
    "Report",
    "Result",
    "Run",
    "not_started",
    "open_target",
    "request_bound",
    "resolve_mode",
    "run_check",
    "run_checks",
]


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


def timeline(ex: Exchange, check_id: str) -> Timeline:
    """The arrival times of a streamed exchange, for the report's picture of it."""
    return Timeline(
        check=check_id,
        url=ex.url,
        status=ex.status,
        headers_at=ex.headers_at,
        elapsed=ex.elapsed,
        reads=tuple(t for t, _ in ex.chunks),
        events=tuple(ex.event_arrivals()) if ex.chunks else (),
        cut=ex.cut,
    )


def _result(
    check: Check,
    outcome: Outcome,
    message: str,
    evidence: dict[str, Any] | None = None,
    duration: float = 0.0,
) -> Result:
    return Result(
        check.id,
        check.severity,
        outcome,
        message,
        evidence,
        duration,
        check.docs,
        check.fix,
        check.layer,
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


class Run:
    """One run in progress: each check's verdict in turn, and why the run stopped, if it did.

    The CLI and ``conformance.run()`` step through a catalogue (``run_checks``); the pytest
    plugin steps one test item at a time. Both get the same verdicts: a prerequisite's failure
    blocks what builds on it, the budget and signals stop the run, and a target that stops
    answering blocks the rest.
    """

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.results: list[Result] = []
        self.stop: Stop | None = None
        self.streams: list[Timeline] = []
        self._verdicts: dict[str, Result] = {}
        self._last: str | None = None  # the last check that ran to its end
        self._start = time.perf_counter()
        self._started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def step(self, chk: Check) -> Result:
        """Run ``chk``, or report it as not run or blocked once the run has stopped."""
        ctx = self.ctx
        if self.stop is None:
            sent_before = len(ctx.exchanges)
            try:
                ctx.limits.check_budget()
                result = _blocked_by_prerequisite(chk, self._verdicts) or run_check(chk, ctx)
            except RunStopped as exc:
                self.stop = Stop(exc.kind, exc.message, self._last)
                result = _not_run(chk, self.stop)
            else:
                try:
                    self.stop = _stopped_answering(ctx, sent_before, chk)
                except RunStopped as exc:
                    self.stop = Stop(exc.kind, exc.message, chk.id)
                if self.stop is not None and self.stop.kind == STOPPED_ANSWERING:
                    result = _died_during(chk, result)
            self._last = chk.id
            fresh = ctx.exchanges[sent_before:]
            self.streams += [timeline(ex, chk.id) for ex in fresh if ex.stream]
        else:
            result = _not_run(chk, self.stop)
        self.results.append(result)
        self._verdicts[chk.id] = result
        return result

    def halt(self, exc: RunStopped) -> None:
        """Stop here (a signal between two checks): the checks after this are not run."""
        self.stop = self.stop or Stop(exc.kind, exc.message, self._last)

    def report(self, not_applicable: tuple[str, ...] = ()) -> Report:
        """The report of the checks stepped so far."""
        return Report(
            target=self.ctx.target.label or self.ctx.target.base_url,
            mode=self.ctx.mode,
            results=tuple(self.results),
            duration=time.perf_counter() - self._start,
            requests=self.ctx.requests_sent,
            not_applicable=not_applicable,
            started_at=self._started_at,
            budget=self.ctx.limits.budget,
            request_timeout=self.ctx.limits.request_timeout,
            stopped=self.stop,
            streams=tuple(self.streams),
        )


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
    run = Run(ctx)
    for chk in (c for c in checks if c.applies_to(ctx.mode)):
        result = run.step(chk)
        if on_result is not None:
            try:
                on_result(chk, result)
            except RunStopped as exc:  # a signal while the progress line was written
                run.halt(exc)
    return run.report(tuple(c.id for c in checks if not c.applies_to(ctx.mode)))


def not_started(
    checks: Sequence[Check], *, target: str, mode: str, limits: Limits, stop: RunStopped
) -> Report:
    """The report of a run stopped before its first check: every check not run, and why.

    A signal or the end of the budget during the reachability probe, while local servers
    start, or during live mode's preflight still leaves a report behind.
    """
    stopped = Stop(stop.kind, stop.message)
    return Report(
        target=target,
        mode=mode,
        results=tuple(_not_run(c, stopped) for c in checks if c.applies_to(mode)),
        duration=0.0 if limits.started is None else time.monotonic() - limits.started,
        not_applicable=tuple(c.id for c in checks if not c.applies_to(mode)),
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        budget=limits.budget,
        request_timeout=limits.request_timeout,
        stopped=stopped,
    )


def resolve_mode(target: Target | str, mode: str | None = None) -> str:
    """The mode a run of ``target`` uses: a Target's own; else ``mode``, by default mock for
    the built-in reference and direct for a URL."""
    if isinstance(target, Target):
        return target.mode
    return mode or ("mock" if target == "reference" else "direct")


@contextmanager
def open_target(target: Target | str, mode: str | None = None) -> Iterator[Target]:
    """Resolve ``"reference"`` or a URL into a Target, starting local servers when needed."""
    if isinstance(target, Target):
        if mode is not None and mode != target.mode:
            raise ValueError(f"mode {mode!r} conflicts with the Target's mode {target.mode!r}")
        yield target
        return
    from ._local import local_target

    with local_target(target, resolve_mode(target, mode)) as resolved:
        yield resolved
