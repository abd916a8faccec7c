"""``conformance.run()``: the kit's front door for Python callers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from .._engine._context import CheckContext
from .._engine._registry import Check, Severity
from .._engine._repeat import run_repeated
from .._engine._runner import Report, Result, open_target
from .._wire._limits import DEFAULT_BUDGET, DEFAULT_REQUEST_TIMEOUT, Limits
from .._wire._target import Target
from ..checks import select_checks
from ._matrix import run_matrix


def run(
    target: Target | str,
    *,
    select: str | Iterable[str] | None = None,
    severity: Severity | str | None = None,
    mode: str | None = None,
    model: str = "",
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    budget: float | None = DEFAULT_BUDGET,
    strict: bool = False,
    clients: str | Iterable[str] | None = "none",
    repeat: int = 1,
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
        request_timeout: seconds for each whole answer, headers to last byte.
        budget: seconds for the whole run (None: unbounded); checks it leaves out are
            reported as not run, and ``Report.stopped`` says so.
        clients: the real clients to run against the target before the checks (ids or
            globs, ``"all"``; default ``"none"``); their verdicts are ``Report.clients``.
        strict: a failed check of the spec layer (what the specification requires but no
            client needs) fails the run too: ``Report.exit_code`` 1.
        repeat: run the checks this many times, each run with fresh requests; each check
            keeps its worst verdict, and ``Report.flaky`` lists those that changed.
        on_result: called after each check (of every run), for progress output.

    Raises:
        ValueError: a timeout or budget that is not a positive number, or ``repeat`` < 1.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    limits = Limits(request_timeout=request_timeout, budget=budget)
    with open_target(target, mode) as resolved:
        checks = select_checks(select=select, severity=severity)
        ctx = CheckContext(resolved, model=model, limits=limits)
        try:
            matrix = run_matrix(resolved, clients, model=model, limits=limits)
            report = run_repeated(checks, ctx, repeat, on_result=on_result)
            return dataclasses.replace(report, strict=strict, clients=matrix)
        finally:
            ctx.close()
