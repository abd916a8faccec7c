"""The verdicts of a run: one Result per check, and the Report with its exit code."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any, Final

from .._version import __version__
from ._matrix import ClientResult
from ._registry import Outcome, Severity, level

# Exit codes (docs/kit/running.md). A signal gives the shell's usual 128 + its number.
EXIT_OK: Final = 0
EXIT_MUST_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3
STOPPED_ANSWERING: Final = "target_stopped_answering"


@dataclass(frozen=True)
class Result:
    """The verdict of one check; ``docs`` and ``fix`` come from the check's registration."""

    id: str
    severity: Severity
    outcome: Outcome
    message: str = ""
    evidence: dict[str, Any] | None = None
    duration: float = 0.0
    docs: str = ""
    fix: str = ""
    layer: str = "clients"  # "spec": the strict layer, gating only under --strict

    @property
    def level(self) -> str:
        """``MUST``, ``SHOULD``, ``SHOULD (spec)`` or ``INFO``, as reports print it."""
        return level(self.severity, self.layer)

    @property
    def broken(self) -> bool:
        """The check failed or errored."""
        return self.outcome in (Outcome.FAILED, Outcome.ERRORED)

    def gates(self, strict: bool) -> bool:
        """Whether this verdict fails the run: a broken MUST, or a broken spec check if strict."""
        if not self.broken:
            return False
        return self.severity is Severity.MUST or (strict and self.layer == "spec")

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's shape for one result (``fix`` only on failures and errors)."""
        data: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity.value,
            "layer": self.layer,
            "outcome": self.outcome.value,
            "message": self.message,
            "evidence": self.evidence,
            "duration": round(self.duration, 4),
            "docs": self.docs,
        }
        if self.outcome in (Outcome.FAILED, Outcome.ERRORED):
            data["fix"] = self.fix
        return data


@dataclass(frozen=True)
class Stop:
    """Why a run ended before every check ran."""

    kind: str  # "budget", "SIGINT", "SIGTERM" or STOPPED_ANSWERING
    message: str
    after: str | None = None  # the last check that finished before the stop

    @property
    def signum(self) -> int | None:
        """The signal number when a signal stopped the run."""
        return int(signal.Signals[self.kind]) if self.kind.startswith("SIG") else None

    def to_dict(self) -> dict[str, Any]:
        """``{"reason", "message", "after"}``."""
        return {"reason": self.kind, "message": self.message, "after": self.after}


@dataclass(frozen=True)
class Timeline:
    """When each part of one streamed answer arrived, in seconds from sending the request.

    The HTML report draws it: events spread over the answer's time are streamed; events that
    all arrive in one read at the end were buffered by the container or something before it.
    """

    check: str  # the check that sent the request (a cached answer serves later checks too)
    url: str
    status: int | None
    headers_at: float | None
    elapsed: float
    reads: tuple[float, ...]  # each network read
    events: tuple[float, ...]  # each dispatched SSE event (when its last byte came)
    cut: str | None = None

    @property
    def buffered(self) -> bool:
        """Several events, all in one network read: nothing reached the client before the end."""
        return len(self.events) > 1 and len(set(self.events)) == 1


@dataclass(frozen=True)
class Flaky:
    """A check whose verdict changed between the runs of ``--repeat``: outcome -> runs."""

    id: str
    outcomes: dict[str, int]

    def describe(self) -> str:
        """``2 passed, 1 failed``."""
        return ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes.items())

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "outcomes"}``."""
        return {"id": self.id, "outcomes": dict(self.outcomes)}


@dataclass(frozen=True)
class Report:
    """All results of one run, with counts, timing, limits and the exit code."""

    target: str
    mode: str
    results: tuple[Result, ...]
    duration: float = 0.0
    requests: int = 0
    not_applicable: tuple[str, ...] = field(default=())
    started_at: str = ""  # ISO 8601, UTC
    budget: float | None = None
    request_timeout: float | None = None
    stopped: Stop | None = None
    strict: bool = False  # --strict: a failed check of the spec layer fails the run too
    clients: tuple[ClientResult, ...] = ()  # the client matrix (never changes the exit code)
    streams: tuple[Timeline, ...] = ()  # each streamed answer's arrival times (HTML report)
    runs: int = 1  # --repeat: how many times the catalogue ran (each verdict is its worst)
    flaky: tuple[Flaky, ...] = ()  # --repeat: the checks whose verdict changed between runs

    @property
    def summary(self) -> dict[str, int]:
        """Counts per outcome: passed, failed, errored, skipped."""
        counts = {o.value: 0 for o in Outcome}
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """128 + N after signal N; 1 when a MUST check failed or errored (or, with ``strict``,
        a check of the spec layer); 3 when the run stopped early (budget, or the target
        stopped answering); else 0."""
        if self.stopped is not None and self.stopped.signum is not None:
            return 128 + self.stopped.signum
        if self.gating:
            return EXIT_MUST_FAILED
        return EXIT_INCOMPLETE if self.stopped is not None else EXIT_OK

    @property
    def gating(self) -> list[Result]:
        """The verdicts that fail the run (exit 1): broken MUSTs, and spec checks if strict."""
        return [r for r in self.results if r.gates(self.strict)]

    @property
    def spec_failures(self) -> list[Result]:
        """Broken checks of the spec layer (they fail the run only with ``strict``)."""
        return [r for r in self.results if r.broken and r.layer == "spec"]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "kit_version": __version__,
            "target": self.target,
            "mode": self.mode,
            "started_at": self.started_at,
            "duration": round(self.duration, 3),
            "budget": self.budget,
            "request_timeout": self.request_timeout,
            "requests": self.requests,
            "strict": self.strict,
            "exit_code": self.exit_code,
            "stopped": self.stopped.to_dict() if self.stopped else None,
            "results": [r.to_dict() for r in self.results],
            "clients": [c.to_dict() for c in self.clients],
            "repeat": {"runs": self.runs, "flaky": [f.to_dict() for f in self.flaky]},
            "summary": self.summary,
        }
