"""proxy_capacity's readout: the steps table of docs/performance.md and the ``Result``."""

from __future__ import annotations

import os
from typing import Any

from bench._core import Options, Result
from bench._servers import ROOT
from bench.capacity import (
    CASES,
    COST_STREAMS,
    FAILURES_TO_STOP,
    FLOOR,
    GC_THRESHOLD,
    ITL_MS,
    P99_LIMIT_MS,
    PLOT,
    QUICK_WINDOW_S,
    RAMP_S,
    TARGETS,
    TOKENS,
    WINDOW_S,
    best_step,
    breaking_cycle,
    capacity,
    crossing,
)


def steps_table(rows: list[dict[str, Any]]) -> str:
    """The steps as the Markdown table of docs/performance.md."""

    def cell(value: Any, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| streams | case | chunk delay p50 / p99 / max (ms) | startup p99 (ms) | "
        "tokens per chunk | proxy CPU | RSS (MiB) | threads | full GCs (longest) | errors | "
        "passed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["streams"], CASES.index(r["case"]))):
        lines.append(
            f"| {row['streams']} | {row['case']} | {cell(row['p50_ms'])} / {cell(row['p99_ms'])}"
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


def report(
    rows: list[dict[str, Any]],
    costs: list[dict[str, Any]],
    opts: Options,
    proxy_cpus: Any,
    other_cpus: Any,
) -> Result:
    result = Result(
        id="proxy_capacity",
        what="concurrent streams one litellm proxy worker carries (20 ms/token, 200 tokens) "
        f"with chunk-delay p99 <= {P99_LIMIT_MS:.0f} ms and no errors",
        target="capacity >= 2x openai/'s with stream_coalesce, >= 1.3x without",
        met=None,
    )
    caps = {case: capacity(rows, case) for case in CASES}
    best = {case: best_step(rows, case) for case in CASES}
    cross = {case: crossing(rows, case) for case in CASES}
    for case in CASES:
        result.figure(f"{case}_capacity", [caps[case]], "streams")
        result.figure(f"{case}_best_passing_step", [best[case]], "streams")
        result.figure(f"{case}_p99_crossing", [round(cross[case], 2)], "streams")
        at = [r for r in rows if r["case"] == case and r["streams"] == caps[case]]
        if at and at[0].get("proxy_cpu_percent") is not None:
            result.figure(f"{case}_proxy_cpu_at_capacity", [at[0]["proxy_cpu_percent"]], "%")
            result.figure(f"{case}_proxy_rss_at_capacity", [at[0]["proxy_rss_mib"]], "MiB")
    met = bool(caps["openai"])
    for case, goal in TARGETS.items():
        ratio = caps[case] / caps["openai"] if caps["openai"] else 0.0
        result.add_ratio(f"{case}/openai capacity", [ratio])
        met = met and ratio >= goal
        if cross["openai"]:
            result.add_ratio(f"{case}/openai p99 crossing", [cross[case] / cross["openai"]])
    result.met = met
    per_token = {row["case"]: cpu_per_token(row) for row in costs}
    for case, ms in per_token.items():
        if ms is not None:
            result.figure(f"{case}_proxy_cpu_ms_per_token_at_{COST_STREAMS}", [ms], "ms")
    openai_ms = per_token.get("openai")
    if openai_ms:
        for case in ("plugin", "plugin_coalesce", FLOOR):
            ms = per_token.get(case)
            if ms is not None:
                result.add_ratio(f"{case}/openai proxy CPU per token", [ms / openai_ms])
    result.summary = ("EXPERIMENT, Router cycle broken: " if breaking_cycle() else "") + (
        f"capacity: openai/ {caps['openai']}, plugin {caps['plugin']}, plugin + stream_coalesce "
        f"{caps['plugin_coalesce']} streams (largest passing step, failures below it or not: "
        f"{best['openai']}, {best['plugin']}, {best['plugin_coalesce']}; p99 crosses "
        f"{P99_LIMIT_MS:.0f} ms at {cross['openai']:.1f}, {cross['plugin']:.1f}, "
        f"{cross['plugin_coalesce']:.1f})"
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
        f"PYTHON_GC_THRESHOLD={GC_THRESHOLD} (LiteLLM's own setting): with the stock start-up a "
        "full collection of ~700k objects stalls every stream for 0.1-1 s whenever it comes, "
        "with the freeze alone one of ~70k objects of finished streams for 80-250 ms, whatever "
        "the case; gc_full_collections / gc_max_pause_ms count those that still happen. One config "
        "holds the three deployments (plugin; plugin with stream_coalesce: true; openai/ with "
        "api_base=<route>/openai/v1 and a minted 12 h token), all to one emulator + reference "
        f"process (itl_ms={ITL_MS:.0f}, stamp_sent_at). Proxy pinned to CPU "
        f"{sorted(proxy_cpus or [])}, server and clients to {sorted(other_cpus or [])} "
        "(os.sched_setaffinity). A step: N slots in a client process (raw asyncio sockets) "
        f"each keep one {TOKENS}-token stream in flight, starts spread over {RAMP_S:.0f} s, "
        f"then a {window_s:.0f} s window; chunk delay = client receipt - container stamp, for "
        f"chunks stamped in the window, the first 2 chunks of each stream excluded (they are "
        "written with the response headers: startup_* is their delay). A coalesced chunk "
        "carries its first event's stamp, so its delay is that of its oldest token. proxy "
        "CPU %, peak RSS and threads sampled from /proc every 0.1 s within the window. A case "
        f"stops ramping after {FAILURES_TO_STOP} failing steps in a row; capacity = the "
        "largest step below the case's first failing step (the largest passing step at all is "
        "*_best_passing_step; *_p99_crossing is where p99 crosses the limit, linear between the "
        f"capacity step and the first failing one). Plot: {PLOT.relative_to(ROOT)}. After the "
        "ramp, each case and "
        f"the floor (bench/_floor.py: a no-I/O CustomLLM in the proxy, same pacing and chunks, "
        f"stamped as it yields) run {COST_STREAMS} streams once more, back to back: "
        "*_proxy_cpu_ms_per_token_at_* = proxy CPU / tokens per second; the floor's is "
        "LiteLLM's own, so floor/openai is the least CPU per token any provider could reach."
    )
    return result
