"""The one engine behind the CLI, the pytest plugin and ``conformance.run()``."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from ._context import CheckContext
from ._exchange import trim_text
from ._registry import REGISTRY, Check, CheckFailure, CheckSkipped, Outcome, Severity
from ._target import Target

AREAS: Final = ("container", "chat", "sse", "chunk", "tools", "errors", "live")


@dataclass(frozen=True)
class Result:
    """The verdict of one check."""

    id: str
    severity: Severity
    outcome: Outcome
    message: str = ""
    evidence: dict[str, Any] | None = None
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's shape for one result."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "outcome": self.outcome.value,
            "message": self.message,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Report:
    """All results of one run, with counts and the exit code."""

    target: str
    mode: str
    results: tuple[Result, ...]
    duration: float = 0.0
    requests: int = 0
    not_applicable: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> dict[str, int]:
        """Counts per outcome: passed, failed, errored, skipped."""
        counts = {o.value: 0 for o in Outcome}
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 when no MUST check failed or errored, else 1."""
        bad = (Outcome.FAILED, Outcome.ERRORED)
        return int(any(r.severity is Severity.MUST and r.outcome in bad for r in self.results))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "target": self.target,
            "mode": self.mode,
            "results": [r.to_dict() for r in self.results],
            "summary": self.summary,
        }


def select_checks(
    *,
    select: str | Iterable[str] | None = None,
    severity: Severity | str | None = None,
    mode: str | None = None,
    registry: dict[str, Check] | None = None,
) -> list[Check]:
    """Checks matching any glob in ``select`` (comma-separated allowed), at least ``severity``."""
    import conformance.checks  # noqa: F401  (registers the built-in checks)

    checks = list((REGISTRY if registry is None else registry).values())
    # Report in the catalogue's order: area by area, then in registration order.
    checks.sort(key=lambda c: AREAS.index(c.area) if c.area in AREAS else len(AREAS))
    if select:
        globs = [select] if isinstance(select, str) else list(select)
        patterns = [p.strip() for g in globs for p in g.split(",") if p.strip()]
        checks = [c for c in checks if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if severity is not None:
        floor = Severity.parse(severity)
        checks = [c for c in checks if c.severity >= floor]
    if mode is not None:
        checks = [c for c in checks if c.applies_to(mode)]
    return checks


def request_bound(checks: Iterable[Check]) -> int:
    """Most HTTP requests a run of ``checks`` can send (the cache usually sends far fewer).

    Each check declares its own requests; a capability probe may add one per capability,
    and the two default requests (stream and not) may be sent once for the blocked logic.
    """
    return 2 + sum(c.requests + len(c.requires) for c in checks)


def run_check(check: Check, ctx: CheckContext) -> Result:
    """Run one check: CheckFailure fails it, CheckSkipped skips it, anything else errors it."""
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
    return Result(check.id, check.severity, outcome, message, evidence, duration)


def run_checks(
    checks: Sequence[Check],
    ctx: CheckContext,
    *,
    on_result: Callable[[Check, Result], None] | None = None,
) -> Report:
    """Run ``checks`` in order against a ready context; checks of another mode are left out."""
    start = time.perf_counter()
    results: list[Result] = []
    skipped_mode = tuple(c.id for c in checks if not c.applies_to(ctx.mode))
    for chk in checks:
        if not chk.applies_to(ctx.mode):
            continue
        result = run_check(chk, ctx)
        results.append(result)
        if on_result is not None:
            on_result(chk, result)
    return Report(
        target=ctx.target.label or ctx.target.base_url,
        mode=ctx.mode,
        results=tuple(results),
        duration=time.perf_counter() - start,
        requests=ctx.requests_sent,
        not_applicable=skipped_mode,
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


def run(
    target: Target | str,
    *,
    select: str | Iterable[str] | None = None,
    severity: Severity | str | None = None,
    mode: str | None = None,
    model: str = "",
    on_result: Callable[[Check, Result], None] | None = None,
) -> Report:
    """Run the conformance kit and return a Report.

    Args:
        target: a Target, a container URL, or ``"reference"`` (the built-in reference
            container, started on loopback; behind the local emulator in mock mode).
        select: glob(s) of check ids, e.g. ``"sse.*"``.
        severity: the lowest severity to run (MUST runs only MUST checks).
        mode: ``direct`` or ``mock`` when ``target`` is a string.
        model: the ``model`` value to send (SageMaker passes it through; default "").
        on_result: called after each check, for progress output.
    """
    with open_target(target, mode) as resolved:
        checks = select_checks(select=select, severity=severity)
        ctx = CheckContext(resolved, model=model)
        try:
            return run_checks(checks, ctx, on_result=on_result)
        finally:
            ctx.close()
