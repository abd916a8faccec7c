"""A dependency-free SVG plot: chunk-delay p99 against concurrent streams, one line per case."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, Final
from xml.sax.saxutils import escape

WIDTH: Final = 790
HEIGHT: Final = 420
LEFT, RIGHT, TOP, BOTTOM = 70, 240, 40, 60
COLOURS: Final = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")
LABELS: Final = {
    "openai": "openai/ + static token",
    "plugin": "plugin",
    "plugin_window": "plugin + stream_coalesce_ms: 50",
}


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks


def _medians(rows: Sequence[dict[str, Any]], cases: Sequence[str]) -> list[tuple[int, float]]:
    by_load: dict[int, list[float]] = {}
    for row in rows:
        if row["case"] in cases and row.get("p99_ms"):
            by_load.setdefault(row["streams"], []).append(row["p99_ms"])
    return [(load, statistics.median(p99s)) for load, p99s in sorted(by_load.items())]


def capacity_plot(
    rows: Sequence[dict[str, Any]],
    cases: Sequence[str],
    limits: dict[str, float],
    capacities: dict[str, int] | None = None,
    subtitle: str = "",
) -> str:
    """The SVG text of the plot (log-log axes, each case's limit drawn as a dashed line).

    A load run several times (repeats) is drawn at the median of its p99s.
    """
    points = _medians(rows, cases)
    limit_ms = min(limits.values())
    if not points:
        points = [(1, limit_ms)]
    x_low = min(p[0] for p in points) / 1.2
    x_high = max(p[0] for p in points) * 1.2
    y_low = min(min(p[1] for p in points), limit_ms) / 1.5
    y_high = max(max(p[1] for p in points), *limits.values()) * 1.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        return LEFT + plot_w * math.log(value / x_low) / math.log(x_high / x_low)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - math.log(value / y_low) / math.log(y_high / y_low))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
        "One LiteLLM proxy worker: chunk-delay p99 against concurrent streams</text>",
        f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="10" fill="#555">{escape(subtitle)}</text>',
    ]
    for tick in _log_ticks(x_low, x_high):
        out.append(f'<line x1="{x(tick):.1f}" y1="{TOP}" x2="{x(tick):.1f}" '
                   f'y2="{TOP + plot_h}" stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 16}" '
                   f'text-anchor="middle">{tick:g}</text>')  # fmt: skip
    for tick in _log_ticks(y_low, y_high):
        out.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" '
                   f'y2="{y(tick):.1f}" stroke="#eee"/>')  # fmt: skip
        out.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    out += [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#333"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 18}" text-anchor="middle">'
        "concurrent streams (20 ms/token, 200 tokens each)</text>",
        f'<text x="18" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {TOP + plot_h / 2})">chunk delay p99 (ms)</text>',
    ]
    for rank, limit in enumerate(sorted(set(limits.values()))):
        label_y = y(limit) + 14 if rank == 0 else y(limit) - 5  # two close lines: one below
        out += [
            f'<line x1="{LEFT}" y1="{y(limit):.1f}" x2="{LEFT + plot_w}" y2="{y(limit):.1f}" '
            'stroke="#333" stroke-dasharray="6 4"/>',
            f'<text x="{LEFT + plot_w - 4}" y="{label_y:.1f}" text-anchor="end">limit of '
            f"{escape(', '.join(LABELS.get(c, c) for c in cases if limits.get(c) == limit))}: "
            f"p99 {limit:g} ms</text>",
        ]
    for number, case in enumerate(cases):
        colour = COLOURS[number % len(COLOURS)]
        line = _medians(rows, [case])
        if line:
            path = " ".join(f"{x(s):.1f},{y(p):.1f}" for s, p in line)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            out += [f'<circle cx="{x(s):.1f}" cy="{y(p):.1f}" r="3" fill="{colour}"/>'
                    for s, p in line]  # fmt: skip
        legend_y = TOP + 14 + 20 * number
        out.append(f'<line x1="{WIDTH - RIGHT + 12}" y1="{legend_y - 4}" '
                   f'x2="{WIDTH - RIGHT + 32}" y2="{legend_y - 4}" stroke="{colour}" '
                   'stroke-width="2"/>')  # fmt: skip
        label = escape(LABELS.get(case, case))
        out.append(f'<text x="{WIDTH - RIGHT + 38}" y="{legend_y}">{label}</text>')
        if capacities is not None:
            out.append(f'<text x="{WIDTH - RIGHT + 38}" y="{legend_y + 80}" font-size="11">'
                       f"{label}: {capacities.get(case, 0)}</text>")  # fmt: skip
    if capacities is not None:
        out.append(f'<text x="{WIDTH - RIGHT + 12}" y="{TOP + 80}" font-weight="bold">'
                   "capacity (streams, median)</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"
