"""Shared benchmark plumbing: options, interleaved rounds, summaries, results and the machine."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any


@dataclass(frozen=True)
class Options:
    """How hard to run: ``--rounds`` (>= 5 for a real run) and ``--quick`` (smaller N)."""

    rounds: int = 5
    quick: bool = False

    def n(self, full: int, quick: int) -> int:
        """An iteration count: ``full`` normally, ``quick`` with ``--quick``."""
        return quick if self.quick else full


@dataclass
class Result:
    """One benchmark's entry in results.json."""

    id: str
    what: str
    target: str
    met: bool | None  # None: report-only
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratio: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""
    summary: str = ""  # the one-line result for the table
    extra: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str, values: Sequence[float], unit: str) -> dict[str, Any]:
        """Record the median/min/max of per-round ``values`` under ``name``."""
        self.figures[name] = summarize(values, unit)
        return self.figures[name]

    def add_ratio(self, name: str, values: Sequence[float]) -> dict[str, Any]:
        """Record per-round ratios (numerator over baseline, measured in the same round)."""
        self.ratio[name] = summarize(values, "x")
        return self.ratio[name]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "what": self.what,
            "target": self.target,
            "met": self.met,
            "result": self.summary,
            "figures": self.figures,
            "ratio": self.ratio,
            "notes": self.notes,
        }
        if self.extra:
            out["extra"] = self.extra
        return out


def summarize(values: Sequence[float], unit: str) -> dict[str, Any]:
    """Median, min and max (rounded for the JSON), plus how many rounds they cover."""
    if not values:
        return {"median": None, "min": None, "max": None, "unit": unit, "n": 0}
    return {
        "median": _round(statistics.median(values)),
        "min": _round(min(values)),
        "max": _round(max(values)),
        "unit": unit,
        "n": len(values),
    }


def _round(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    digits = max(0, 4 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def interleave(
    cases: Mapping[str, Callable[[], float]], rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run every case once per round, A B C then B C A ..., and collect one value per round.

    Each case measures a whole batch and returns its per-round figure. Rotating the order
    spreads slow drifts of a shared, noisy machine evenly over the cases.
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].append(cases[name]())
    return out


def ratios(numerator: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per-round ratios of two cases measured in the same rounds."""
    return [a / b for a, b in zip(numerator, baseline, strict=True) if b]


def per_call(fn: Callable[[], object], n: int, clock: Callable[[], float]) -> float:
    """Mean cost of one call of ``fn`` over ``n`` calls, in the unit of ``clock``."""
    start = clock()
    for _ in range(n):
        fn()
    return (clock() - start) / n


def latencies(fn: Callable[[], object], n: int) -> list[float]:
    """Wall-clock seconds of each of ``n`` calls."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ms(value: float) -> float:
    return value * 1e3


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "litellm": version("litellm"),
        "httpx": version("httpx"),
        "openai": version("openai"),
        "botocore": version("botocore"),
        "plugin": version("litellm-sagemaker-openai"),
        "loadavg_at_start": [round(x, 2) for x in load] if load else None,
    }
