"""Where a case stops carrying its streams: a bracket grown from a start, then bisection.

A fixed ladder spent most of its steps far below or far above where a case fails, and moved by
a whole step (14-17%) from run to run. A search spends its steps near the crossing: it grows
the load by half until a step fails, then halves the bracket until it is within
:data:`RESOLUTION` of the load that passed. Repeating it gives a spread, and the median of a
few repeats is what one run reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

GROW: Final = 1.5  # each step while no step has failed yet
RESOLUTION: Final = 0.08  # stop once the bracket is this share of the passing load (or 1)
QUICK_RESOLUTION: Final = 0.3
MAX_STREAMS: Final = 400


@dataclass
class Search:
    """One case's search in one repeat: ``next()`` the load to run, then ``record()`` it."""

    start: int
    resolution: float = RESOLUTION
    low: int = 0  # the largest load that passed
    high: int | None = None  # the smallest load that failed

    def next(self) -> int | None:
        """The next load to run, or None when the search is done."""
        if self.high is None:
            if self.low == 0:
                return self.start
            if self.low >= MAX_STREAMS:
                return None
            return min(MAX_STREAMS, max(self.low + 1, math.ceil(self.low * GROW)))
        if self.high - self.low <= max(1, round(self.low * self.resolution)):
            return None
        return (self.low + self.high) // 2

    def record(self, streams: int, passed: bool) -> None:
        if passed:
            self.low = max(self.low, streams)
        else:
            self.high = streams if self.high is None else min(self.high, streams)
