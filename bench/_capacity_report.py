"""proxy_capacity's readout: the steps table of docs/performance.md and the ``Result``."""

from __future__ import annotations

import os
from typing import Any

from bench._capacity_search import GROW, RESOLUTION
from bench._core import Options, Result, percentile
from bench._servers import ROOT
from bench.capacity import (
    CASES,
    COALESCE_MS,
    COST_STREAMS,
    FLOOR,
    GC_THRESHOLD,
    ITL_MS,
    LIMITS,
    PLOT,
    QUICK_WINDOW_S,
    RAMP_S,
    TARGETS,
    TOKENS,
    WINDOW_S,
    breaking_cycle,
    capacity,
    crossing,
)


def steps_table(rows: list[dict[str, Any]]) -> str:
    """The steps as the Markdown table of docs/performance.md."""

    def cell(value: Any, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| repeat | streams | case | chunk delay p50 / p99 / max (ms) | startup p99 (ms) | "
        "tokens per chunk | proxy CPU | RSS (MiB) | threads | full GCs (longest) | errors | "
        "passed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(rows, key=lambda r: (r.get("repeat", 0), r["streams"], CASES.index(r["case"])))
    for row in order:
        lines.append(
            f"| {row.get('repeat', 0) + 1} | {row['streams']} | {row['case']} | "
            f"{cell(row['p50_ms'])} / {cell(row['p99_ms'])}"
            f" / {cell(row['max_ms'])} | {cell(row['startup_p99_ms'])} | "
            f"{cell(row.get('tokens_per_chunk'), 2)} | "
            f"{cell(row.get('proxy_cpu_percent'), 0)}% | {cell(row.get('proxy_rss_mib'), 0)} | "
            f"{cell(row.get('proxy_threads'), 0)} | {row.get('gc_full_collections', '-')} "
            f"({cell(row.get('gc_max_pause_ms'), 0)} ms) | {row['errors']} | "
            f"{'yes' if row['passed'] else '**no**'} |"
        )
    return "\n".join(lines)


def cpu_per_token(row: dict[str, Any]) -> float | None:
    """The proxy's CPU ms per token the container sent (N streams x 1000 / ITL_MS tokens/s)."""
    cpu = row.get("proxy_cpu_percent")
    return None if cpu is None else cpu / 100 * ITL_MS / row["streams"]


def spread(values: list[float]) -> str:
    """``median (min-max)``, as the summary and the docs quote a figure over the repeats."""
    low, mid, high = min(values), percentile(values, 50), max(values)
    return f"{mid:.3g} ({low:.3g}-{high:.3g})"


def report(
    rows: list[dict[str, Any]],
    costs: list[dict[str, Any]],
    opts: Options,
    proxy_cpus: Any,
    other_cpus: Any,
) -> Result:
    repeats = sorted({r["repeat"] for r in rows})
    result = Result(
        id="proxy_capacity",
        what="concurrent streams one litellm proxy worker carries (20 ms/token, 200 tokens) "
        "with chunk-delay p99 within the case's limit and no errors, median of "
        f"{len(repeats)} searches",
        target=f"capacity >= 2x openai/'s with stream_coalesce_ms: {COALESCE_MS:g} at p99 <= "
        f"{LIMITS['plugin_window']:g} ms (median of the repeats)",
        met=None,
    )
    caps = {c: [capacity(rows, c, r) for r in repeats] for c in CASES}
    cross = {c: [crossing(rows, c, r) for r in repeats] for c in CASES}
    for case in CASES:
        result.figure(f"{case}_capacity", caps[case], "streams")
        result.figure(f"{case}_p99_crossing", [round(x, 2) for x in cross[case]], "streams")
        at = [r for r in rows if r["case"] == case and r["passed"]]
        top = max(at, key=lambda r: r["streams"], default=None)
        if top is not None and top.get("tokens_per_chunk") is not None:
            result.figure(f"{case}_tokens_per_chunk_at_best", [top["tokens_per_chunk"]], "tokens")
            result.figure(f"{case}_p99_at_best", [top["p99_ms"]], "ms")
    met = all(caps["openai"])
    ratios: dict[str, list[float]] = {}
    for case in CASES[1:]:
        pairs = zip(caps[case], caps["openai"], strict=True)
        ratios[case] = [c / o if o else 0.0 for c, o in pairs]
        result.add_ratio(f"{case}/openai capacity", ratios[case])
        result.add_ratio(
            f"{case}/openai p99 crossing",
            [c / o if o else 0.0 for c, o in zip(cross[case], cross["openai"], strict=True)],
        )
    for case, goal in TARGETS.items():
        met = met and percentile(ratios[case], 50) >= goal
    result.met = met
    per_token = {row["case"]: cpu_per_token(row) for row in costs}
    for case, ms in per_token.items():
        if ms is not None:
            result.figure(f"{case}_proxy_cpu_ms_per_token_at_{COST_STREAMS}", [ms], "ms")
    openai_ms = per_token.get("openai")
    if openai_ms:
        for case in (*CASES[1:], FLOOR):
            ms = per_token.get(case)
            if ms is not None:
                result.add_ratio(f"{case}/openai proxy CPU per token", [ms / openai_ms])
    result.summary = ("EXPERIMENT, Router cycle broken: " if breaking_cycle() else "") + (
        "capacity, median (min-max) of "
        f"{len(repeats)}: "
        + ", ".join(f"{c} {spread([float(x) for x in caps[c]])}" for c in CASES)
        + "; x openai/: "
        + ", ".join(f"{c} {spread(ratios[c])}" for c in CASES[1:])
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result.extra = {
        "steps": rows,
        "cpu_per_token_steps": costs,
        "plot": str(PLOT.relative_to(ROOT)),
        "loadavg_at_end": [round(x, 2) for x in load] if load else None,
        "cpus": {"proxy": sorted(proxy_cpus or []), "server_and_clients": sorted(other_cpus or [])},
        "router_cycle_broken": breaking_cycle(),
    }
    window_s = QUICK_WINDOW_S if opts.quick else WINDOW_S
    result.notes = (
        "`litellm --config`, --num_workers 1, master key, no DB, default settings, started "
        "through the gc.freeze() launcher of docs/performance.md (frozen after import, and "
        "again after the warm-up streams by SIGUSR1), with "
        f"PYTHON_GC_THRESHOLD={GC_THRESHOLD} (LiteLLM's own setting); gc_full_collections / "
        "gc_max_pause_ms count the full collections that still happen. One config holds the "
        "three deployments (openai/ with api_base=<route>/openai/v1 and a minted 12 h token; "
        f"the plugin; the plugin with stream_coalesce_ms: {COALESCE_MS:g}), all to one "
        f"emulator + reference process (itl_ms={ITL_MS:.0f}, stamp_sent_at). Proxy pinned to CPU "
        f"{sorted(proxy_cpus or [])}, server and clients to {sorted(other_cpus or [])} "
        "(os.sched_setaffinity). A step: N slots in a client process (raw asyncio sockets) "
        f"each keep one {TOKENS}-token stream in flight, starts spread over {RAMP_S:.0f} s, "
        f"then a {window_s:.0f} s window; chunk delay = client receipt - container stamp, for "
        "chunks stamped in the window, the first 2 chunks of each stream excluded (startup_* "
        "is their delay). A coalesced chunk carries its first event's stamp, so its delay is "
        "that of its oldest token. A step passes with p99 within the case's limit ("
        + ", ".join(f"{c} {LIMITS[c]:g} ms" for c in CASES)
        + ") and no error. Each repeat searches every case, one step of each in turn: the "
        f"load grows x{GROW} from a start (12, then the median of the earlier repeats) until "
        f"a step fails, then the bracket is halved until it is within {RESOLUTION:.0%} of the "
        "passing load; capacity = the largest passing load of the repeat, *_p99_crossing "
        "where p99 crosses the limit (linear between the passing and the failing load). "
        f"Ratios are per repeat, against openai/ in the same repeat. Plot: "
        f"{PLOT.relative_to(ROOT)} (median p99 per load). After the searches, each case and "
        f"the floor (bench/_floor.py: a no-I/O CustomLLM in the proxy, same pacing and chunks, "
        f"stamped as it yields) run {COST_STREAMS} streams once more, back to back: "
        "*_proxy_cpu_ms_per_token_at_* = proxy CPU / tokens per second; the floor's is "
        "LiteLLM's own, so floor/openai is the least CPU per token any provider could reach."
    )
    return result
