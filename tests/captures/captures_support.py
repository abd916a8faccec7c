"""Replay a recorded engine to the kit: shared by the CI tests and ``make engines``' own check."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance import Report
from conformance._capture import serve_replay
from conformance._capture._format import MANIFEST_FILE
from conformance._engine._context import CheckContext
from conformance._engine._registry import Check
from conformance._engine._report import Result
from conformance._engine._runner import open_target, run_checks
from conformance._wire._limits import DEFAULT_REQUEST_TIMEOUT, Limits
from conformance.checks import select_checks

CAPTURES: Final = Path(__file__).resolve().parent
# A replay pauses at most this long before a head or between chunks: a serial engine's minute-long
# queue replays in a blink, while every chunk still arrives on its own, far apart enough for the
# kit's timing checks (sse.incremental wants 10 ms of spread).
MAX_WAIT: Final = 0.25
# The kit's request timeout in a replay is twice the slowest recorded answer's replay, plus this
# much slack for a loaded CI machine, and never more than the recorded run's own timeout. A
# recorded hang is a hang at any length, so the kit need not wait its real 20 s to see it again.
REPLAY_SLACK: Final = 2.0


def capture_folders() -> list[Path]:
    """Every capture folder (one per engine) under tests/captures/."""
    return sorted(p.parent for p in CAPTURES.glob(f"*/{MANIFEST_FILE}"))


def load_manifest(folder: Path) -> dict[str, Any]:
    """A capture's manifest: engine, versions, flags, and the verdicts recorded per mode."""
    data: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return data


def recorded_outcomes(manifest: dict[str, Any], mode: str) -> dict[str, str]:
    """The verdicts the live engine got in ``mode``, by check id."""
    return {r["id"]: r["outcome"] for r in manifest["runs"][mode]["results"]}


def captured_checks(manifest: dict[str, Any], mode: str) -> list[Check]:
    """The kit's checks that ran in the capture's ``mode`` run, in the catalogue's order.

    Only these are replayed: a check added to the kit since sends requests the engine never
    answered, so its replayed verdict would be the replay's 599, not the engine's.
    """
    recorded = recorded_outcomes(manifest, mode)
    return [c for c in select_checks(mode=mode) if c.id in recorded]


def not_captured(manifest: dict[str, Any], mode: str) -> list[str]:
    """The kit's checks for ``mode`` that the capture predates: no verdict to replay."""
    recorded = recorded_outcomes(manifest, mode)
    return [c.id for c in select_checks(mode=mode) if c.id not in recorded]


@dataclass
class ReplayLimits(Limits):
    """The recorded run's bounds in a replay, where time runs faster than it did live.

    The budget is not a clock here: it runs out right after the check the recorded run's
    budget ran out after (``spend_after``), so the replay stops where the live run stopped.
    """

    spend_after: str | None = field(default=None, compare=False)
    spent: bool = field(default=False, compare=False)

    @property
    def ends_at(self) -> float | None:
        return None

    def remaining(self) -> float | None:
        return 0.0 if self.spent else None

    def finished(self, check: Check, _: Result) -> None:
        """The runner's ``on_result``: spend the budget after ``spend_after``."""
        self.spent = self.spent or check.id == self.spend_after


def replay_limits(run: dict[str, Any], longest_answer: float) -> ReplayLimits:
    """Bounds that reach the recorded run's verdicts fast (see REPLAY_SLACK)."""
    recorded = run.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT
    timeout = min(recorded, 2 * longest_answer + REPLAY_SLACK)
    stopped = run.get("stopped") or {}
    if stopped.get("reason") != "budget":
        return ReplayLimits(request_timeout=timeout, budget=None)
    after = stopped.get("after")
    return ReplayLimits(
        request_timeout=timeout, budget=run["budget"], spend_after=after, spent=after is None
    )


@dataclass(frozen=True)
class Replayed:
    """What the kit concluded from a replayed capture."""

    report: Report
    misses: list[str]
    seconds: float
    request_timeout: float
    not_captured: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> dict[str, str]:
        return {r.id: r.outcome.value for r in self.report.results}


def kit_report(
    url: str, mode: str, model: str, limits: ReplayLimits, checks: list[Check] | None = None
) -> Report:
    """The kit's ``checks`` (default: all) in ``mode`` against ``url``, as ``conformance.run()``
    runs them, in ``limits``."""
    with open_target(url, mode) as target:
        ctx = CheckContext(target, model=model, limits=limits)
        try:
            chosen = select_checks() if checks is None else checks
            return run_checks(chosen, ctx, on_result=limits.finished)
        finally:
            ctx.close()


def replay_kit(folder: Path, mode: str, manifest: dict[str, Any]) -> Replayed:
    """Run the kit's captured checks in ``mode`` against that mode's run in ``folder``.

    The kit's checks the capture predates are listed in ``Replayed.not_captured``, not run.
    """
    start = time.perf_counter()
    with serve_replay(folder, max_wait=MAX_WAIT, run=mode) as (url, replay):
        limits = replay_limits(manifest["runs"][mode], replay.longest_answer())
        checks = captured_checks(manifest, mode)
        report = kit_report(url, mode, manifest["model"], limits, checks)
    seconds = time.perf_counter() - start
    missing = not_captured(manifest, mode)
    return Replayed(report, list(replay.misses), seconds, limits.request_timeout, missing)


def moved_verdicts(manifest: dict[str, Any], mode: str, replayed: Replayed) -> list[str]:
    """What the replay did not reproduce: verdicts, the exit code, unmatched requests."""
    want, got = recorded_outcomes(manifest, mode), replayed.outcomes
    moved = [
        f"{cid}: {want.get(cid)} recorded, "
        + (f"{got[cid]} replayed" if cid in got else "no longer in the kit")
        for cid in sorted(want.keys() | got.keys())
        if want.get(cid) != got.get(cid)
    ]
    recorded_exit = manifest["runs"][mode]["exit_code"]
    if recorded_exit != replayed.report.exit_code:
        moved.append(f"exit code: {recorded_exit} recorded, {replayed.report.exit_code} replayed")
    return moved + [f"miss: {m}" for m in replayed.misses]
