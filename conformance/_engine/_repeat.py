"""``--repeat N``: the catalogue run N times, each verdict its worst, and the verdicts that flip.

A container that passes a check once and fails it the next time fails its users some of the
time, so a check keeps the first run in which it failed or errored, with that run's evidence,
and the exit code follows. Checks that a stopped run never reached are no verdict and are not
counted.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence

from ._context import CheckContext
from ._registry import Check, Outcome
from ._report import Flaky, Report, Result
from ._runner import run_checks


def run_repeated(
    checks: Sequence[Check],
    ctx: CheckContext,
    runs: int,
    *,
    on_result: Callable[[Check, Result], None] | None = None,
) -> Report:
    """Run ``checks`` ``runs`` times, each run with a fresh context (no cached answers) sharing
    ``ctx``'s budget; a run that stops (budget, signal, a silent target) ends the series."""
    if runs < 1:
        raise ValueError(f"repeat must be at least 1, got {runs}")
    reports = [run_checks(checks, ctx, on_result=on_result)]
    while len(reports) < runs and reports[-1].stopped is None:
        fresh = ctx.child(ctx.target)
        try:
            reports.append(run_checks(checks, fresh, on_result=on_result))
        finally:
            fresh.close()
    return combine(reports)


def _ran(result: Result) -> bool:
    # Reported only because an earlier stop kept the check from running.
    return not (result.outcome is Outcome.SKIPPED and result.message.startswith("not run:"))


def combine(reports: Sequence[Report]) -> Report:
    """One report of several runs of the same checks: each check's first broken verdict (else
    its last), the flaky checks with their counts, the runs' requests and time added up."""
    if len(reports) == 1:
        return reports[0]
    order: list[str] = []
    chosen: dict[str, Result] = {}
    counts: dict[str, Counter[str]] = {}
    for report in reports:
        for result in report.results:
            if result.id not in chosen:
                order.append(result.id)
            if _ran(result):
                counts.setdefault(result.id, Counter())[result.outcome.value] += 1
            kept = chosen.get(result.id)
            if kept is None or (not kept.broken and _ran(result)):
                chosen[result.id] = result
    flaky = tuple(
        Flaky(
            check_id,
            {o.value: counts[check_id][o.value] for o in Outcome if counts[check_id][o.value]},
        )
        for check_id in order
        if len(counts.get(check_id, ())) > 1
    )
    first, last = reports[0], reports[-1]
    return dataclasses.replace(
        first,
        results=tuple(chosen[check_id] for check_id in order),
        duration=sum(r.duration for r in reports),
        requests=sum(r.requests for r in reports),
        stopped=last.stopped,
        streams=first.streams,  # one picture per stream; later runs send the same requests
        runs=len(reports),
        flaky=flaky,
    )
