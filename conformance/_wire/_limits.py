"""How long and how much: the per-request deadline, the response byte cap, the run's budget.

No target can hold a run past its budget: every request's deadline is the earlier of its own
deadline and the end of the budget, and a request cut by the budget ends the run (its check is
reported as not run, never as failed: the container did nothing wrong).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from typing import Final

DEFAULT_REQUEST_TIMEOUT: Final = 20.0  # a kit request asks for 16-64 tokens
DEFAULT_BUDGET: Final = 180.0  # the whole catalogue, whatever the target does
# InvokeEndpoint caps request and response bodies at 6,291,456 bytes (API_runtime_InvokeEndpoint);
# a kit request's answer is a few kilobytes, so a megabyte of margin only spares odd framing.
SAGEMAKER_MAX_BODY: Final = 6_291_456
MAX_RESPONSE_BYTES: Final = SAGEMAKER_MAX_BODY + 1_048_576
# What a cut answer keeps as evidence; the rest is dropped so memory stays bounded.
KEPT_WHEN_CUT: Final = 65_536
# Answers held for the whole run (the cache shares them between checks): past this total, a
# further answer over LARGE_ANSWER bytes is kept as a head only, so a target cannot fill memory.
MAX_RETAINED_BYTES: Final = 48 * 1_048_576
LARGE_ANSWER: Final = 1_048_576


class RunStopped(BaseException):
    """The run must stop now; the runner reports what ran and why it stopped.

    A BaseException so that no check's ``except Exception`` can swallow it.
    """

    kind = "stopped"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BudgetExhausted(RunStopped):
    """The run's ``--budget`` ran out."""

    kind = "budget"


class Interrupted(RunStopped):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        self.signum = signum
        super().__init__(f"interrupted by {self.signal_name}")
        self.kind = self.signal_name


@dataclass
class Limits:
    """The bounds of one run; ``start()`` begins the budget's clock."""

    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    budget: float | None = DEFAULT_BUDGET
    max_response_bytes: int = MAX_RESPONSE_BYTES
    started: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.request_timeout > 0:
            raise ValueError(f"the request timeout must be > 0 seconds, got {self.request_timeout}")
        if self.budget is not None and not self.budget > 0:
            raise ValueError(f"the budget must be > 0 seconds, got {self.budget}")
        if self.max_response_bytes < KEPT_WHEN_CUT:
            raise ValueError(f"max_response_bytes must be at least {KEPT_WHEN_CUT}")

    def start(self, *, already: float = 0.0) -> Limits:
        """Start the budget's clock, ``already`` seconds ago (once; later calls keep the first).

        The CLI passes the process's age, so that interpreter start-up and imports count
        against the budget as well.
        """
        if self.started is None:
            self.started = time.monotonic() - already
        return self

    @property
    def ends_at(self) -> float | None:
        """The monotonic time the budget runs out (None: no budget, or not started)."""
        if self.budget is None or self.started is None:
            return None
        return self.started + self.budget

    def remaining(self) -> float | None:
        """Seconds left in the budget (None when unbounded)."""
        end = self.ends_at
        return None if end is None else end - time.monotonic()

    def check_budget(self) -> None:
        """Raise BudgetExhausted if no time is left."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise BudgetExhausted(f"the {self.budget:g} s budget ran out")

    def request_deadline(self, timeout: float | None = None) -> tuple[float, bool]:
        """(monotonic deadline of a request sent now, whether the budget is what bounds it)."""
        self.check_budget()
        own = time.monotonic() + (timeout or self.request_timeout)
        end = self.ends_at
        if end is not None and end < own:
            return end, True
        return own, False


def process_age() -> float:
    """Seconds since this process started (Linux ``/proc``); 0.0 where that is unknown."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            # Field 22 is the start time in clock ticks after boot; the command name (field 2)
            # may contain spaces, so count from the ")" that closes it.
            start_ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0
