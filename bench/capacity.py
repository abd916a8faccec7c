"""proxy_capacity: how many concurrent streams one proxy worker carries before chunks run late.

Three processes, pinned where the machine allows: a ``litellm --config`` proxy with one worker
on CPU 0; the emulator + reference container (20 ms per token, each chunk stamped with its send
time) and the clients on CPU 1. For each step of a ramp, N clients keep one 200-token stream
each in flight through the proxy; every chunk's delay is its receipt time minus the
container's stamp. Meanwhile the proxy's CPU, RSS and threads are sampled from /proc.
Capacity is the largest step with a p99 chunk delay of at most 50 ms and no error.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench._core import Options, Result, percentile
from bench._servers import ROOT, Server, pin, server_process, stop
from bench.proxy import MASTER_KEY, deployments, proxy_process

ITL_MS: Final = 20.0
TOKENS: Final = 200
P99_LIMIT_MS: Final = 50.0
CASES: Final = ("openai", "plugin", "plugin_coalesce")
# Fine where one worker of LiteLLM >= 1.108 saturates (10-20 streams on a 2-core box: steps
# 2 apart, so a 1.3x ratio there shows, 12 -> 16), coarser above, up to what a faster machine
# or a leaner LiteLLM may reach.
LADDER: Final = (5, 8, 10, 12, 14, 16, 18, 20, 23, 26, 30, 35, 40, 50, 60, 80, 100, 130, 160, 200,
                 300, 400)  # fmt: skip
QUICK_LADDER: Final = (5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320)
RAMP_S: Final = TOKENS * ITL_MS / 1e3  # starts spread over one stream's length
WINDOW_S: Final = 8.0
QUICK_WINDOW_S: Final = 3.0
FAILURES_TO_STOP: Final = 2  # a case stops ramping after this many failing steps in a row
PLOT: Final = ROOT / "docs" / "img" / "proxy_capacity.svg"
TARGETS: Final = {"plugin_coalesce": 2.0, "plugin": 1.3}  # x openai/'s capacity
# LiteLLM's own knob (gen0, gen1, gen2): a full collection after every second generation-1
# one, so each full collection has ~15k objects of finished streams to free, not ~70k; with
# gc.freeze() it then pauses the worker 10-50 ms instead of 80-250 ms (docs/performance.md).
GC_THRESHOLD: Final = "700,10,1"
# The proxy's CPU per token, each case and a no-I/O provider (bench/_floor.py), at this load:
# what any provider could save against openai/ on this LiteLLM, if CPU set the capacity.
COST_STREAMS: Final = 10
FLOOR: Final = "floor"
FLOOR_PROVIDER: Final = {"provider": "bench_floor", "custom_handler": "bench._floor.handler"}


@dataclass
class Sampler:
    """Samples /proc/<pid> of the proxy and the server every 0.1 s in a thread."""

    pids: dict[str, int]
    samples: list[dict[str, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            row: dict[str, float] = {"t": time.time()}
            for name, pid in self.pids.items():
                row.update({f"{name}_{k}": v for k, v in proc_stats(pid).items()})
            self.samples.append(row)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> dict[str, float]:
        """CPU % of each process, the proxy's peak RSS (MiB) and threads, within [start, end]."""
        rows = [r for r in self.samples if start <= r["t"] <= end]
        if len(rows) < 2:
            return {}
        first, last = rows[0], rows[-1]
        out = {
            f"{name}_cpu_percent": 100
            * (last[f"{name}_cpu_s"] - first[f"{name}_cpu_s"])
            / (last["t"] - first["t"])
            for name in self.pids
        }
        out["proxy_rss_mib"] = max(r["proxy_rss_mib"] for r in rows)
        out["proxy_threads"] = max(r["proxy_threads"] for r in rows)
        return out


def proc_stats(pid: int) -> dict[str, float]:
    """CPU seconds (user + system), RSS (MiB) and OS threads of a process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {"cpu_s": 0.0, "rss_mib": 0.0, "threads": 0.0}
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": float(fields["Threads"]),
    }


def cpus() -> tuple[set[int] | None, set[int] | None]:
    """(proxy CPUs, server + clients CPUs): the proxy gets a core of its own when there are 2."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2:
        return None, None
    return {mine[0]}, set(mine[1:])


def model_list(server: Server) -> list[dict[str, Any]]:
    """plugin and openai/ as in proxy_overhead, plus the plugin with ``stream_coalesce``."""
    entries = deployments(server)
    coalescing = copy.deepcopy(entries[0])
    coalescing["model_name"] = "plugin_coalesce"
    coalescing["litellm_params"]["stream_coalesce"] = True
    floor = {"model_name": FLOOR, "litellm_params": {"model": "bench_floor/floor"}}
    return [*entries, coalescing, floor]


def gc_pauses(log: Path, start: float, end: float) -> list[float]:
    """The proxy's full-collection pauses (ms) that ended within [start, end]."""
    try:
        rows = [line.split() for line in log.read_text().splitlines()]
    except OSError:
        return []
    return [float(pause) for at, pause in rows if start <= float(at) <= end]


def step(
    base: str,
    case: str,
    streams: int,
    window_s: float,
    sampler: Sampler,
    client_cpus: Any,
    gc_log: Path | None = None,
) -> dict[str, Any]:
    """One step of one case in a client process; its figures as a row."""
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    plan = {"host": host, "port": int(port), "key": MASTER_KEY, "model": case,
            "streams": streams, "tokens": TOKENS, "ramp_s": RAMP_S,
            "window_s": window_s}  # fmt: skip

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._capacity_client", "--plan", json.dumps(plan)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=pin(client_cpus),
    )
    try:
        out, err = proc.communicate(timeout=RAMP_S + window_s + 120)
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"capacity client failed: {err.decode(errors='replace')[-1500:]}")
    raw = json.loads(out.decode().strip().splitlines()[-1])
    delays, startup = raw["delays_ms"], raw["startup_ms"]
    row: dict[str, Any] = {
        "case": case,
        "streams": streams,
        "p50_ms": percentile(delays, 50) if delays else None,
        "p99_ms": percentile(delays, 99) if delays else None,
        "max_ms": max(delays) if delays else None,
        "startup_p50_ms": percentile(startup, 50) if startup else None,
        "startup_p99_ms": percentile(startup, 99) if startup else None,
        "chunks_measured": len(delays),
        "streams_completed": raw["streams"],
        "errors": len(raw["errors"]),
        "error_samples": raw["errors"][:3],
        "client_cpu_percent": raw["cpu_percent"],
        **sampler.window(*raw["window"]),
    }
    if gc_log is not None:
        pauses = gc_pauses(gc_log, *raw["window"])
        row["gc_full_collections"] = len(pauses)
        row["gc_max_pause_ms"] = max(pauses, default=0.0)
    row["passed"] = bool(
        delays and not raw["errors"] and row["p99_ms"] is not None and row["p99_ms"] <= P99_LIMIT_MS
    )
    return row


def ramp(
    base: str, opts: Options, sampler: Sampler, client_cpus: Any, gc_log: Path
) -> list[dict[str, Any]]:
    """Each step runs every case still ramping (order rotating); a case stops after failing."""
    ladder = QUICK_LADDER if opts.quick else LADDER
    window_s = QUICK_WINDOW_S if opts.quick else WINDOW_S
    failures = dict.fromkeys(CASES, 0)
    rows: list[dict[str, Any]] = []
    for number, streams in enumerate(ladder):
        active = [c for c in CASES if failures[c] < FAILURES_TO_STOP]
        if not active:
            break
        shift = number % len(active)
        for case in active[shift:] + active[:shift]:
            row = step(base, case, streams, window_s, sampler, client_cpus, gc_log)
            rows.append(row)
            failures[case] = 0 if row["passed"] else failures[case] + 1
            print(
                f"[proxy_capacity] {case} x{streams}: p99 {row['p99_ms']} ms, "
                f"errors {row['errors']}, proxy CPU {row.get('proxy_cpu_percent', 0):.0f}%, "
                f"full GCs {row['gc_full_collections']} (max {row['gc_max_pause_ms']:.0f} ms)",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(0.5)  # let the proxy finish logging the last streams
    return rows


def capacity(rows: list[dict[str, Any]], case: str) -> int:
    """The largest step of ``case`` below its first failing step (0 if the first one failed).

    Sustained, not best: a full collection that happens to miss one step's window lets a step
    pass above one that failed, and counting that lucky step would credit the garbage
    collector's timing to the case (see :func:`best_step`).
    """
    sustained = 0
    for row in sorted((r for r in rows if r["case"] == case), key=lambda r: r["streams"]):
        if not row["passed"]:
            break
        sustained = row["streams"]
    return sustained


def best_step(rows: list[dict[str, Any]], case: str) -> int:
    """The largest step of ``case`` that passed at all, failing steps below it or not."""
    return max((r["streams"] for r in rows if r["case"] == case and r["passed"]), default=0)


def run(opts: Options) -> Result:
    from bench._svg import capacity_plot

    proxy_cpus, other_cpus = cpus()
    with contextlib.ExitStack() as stack:
        gc_log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "gc.log"
        server = stack.enter_context(
            server_process(itl_ms=ITL_MS, stamp_sent_at=True, cpus=other_cpus)
        )
        base, proc = stack.enter_context(
            proxy_process(
                model_list(server),
                cpus=proxy_cpus,
                gc_freeze=True,
                gc_log=gc_log,
                extra_env={"PYTHON_GC_THRESHOLD": GC_THRESHOLD, "BENCH_FLOOR_ITL_MS": str(ITL_MS)},
                extra_providers=[FLOOR_PROVIDER],
            )
        )
        sampler = Sampler({"proxy": proc.pid, "server": server.pid})
        stack.callback(sampler.close)
        for case in (*CASES, FLOOR):  # tokens minted, connections pooled, lazy imports done
            step(base, case, 5, 1.0, sampler, other_cpus)
        os.kill(proc.pid, signal.SIGUSR1)  # freeze again, as docs/performance.md advises
        time.sleep(1.0)
        rows = ramp(base, opts, sampler, other_cpus, gc_log)
        costs = [
            step(base, case, COST_STREAMS, WINDOW_S, sampler, other_cpus, gc_log)
            for case in (*CASES, FLOOR)
        ]
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    subtitle = (
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load average at the end {load}; "
        f"{'--quick' if opts.quick else 'full run'}"
    )
    caps = {case: capacity(rows, case) for case in CASES}
    PLOT.write_text(capacity_plot(rows, CASES, P99_LIMIT_MS, caps, subtitle))
    print(steps_table(rows), file=sys.stderr)
    return _result(rows, costs, opts, proxy_cpus, other_cpus)


def steps_table(rows: list[dict[str, Any]]) -> str:
    """The steps as the Markdown table of docs/performance.md."""

    def cell(value: Any, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| streams | case | chunk delay p50 / p99 / max (ms) | startup p99 (ms) | proxy CPU | "
        "RSS (MiB) | threads | full GCs (longest) | errors | passed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["streams"], CASES.index(r["case"]))):
        lines.append(
            f"| {row['streams']} | {row['case']} | {cell(row['p50_ms'])} / {cell(row['p99_ms'])}"
            f" / {cell(row['max_ms'])} | {cell(row['startup_p99_ms'])} | "
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


def _result(
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
    for case in CASES:
        result.figure(f"{case}_capacity", [caps[case]], "streams")
        result.figure(f"{case}_best_passing_step", [best[case]], "streams")
        at = [r for r in rows if r["case"] == case and r["streams"] == caps[case]]
        if at and at[0].get("proxy_cpu_percent") is not None:
            result.figure(f"{case}_proxy_cpu_at_capacity", [at[0]["proxy_cpu_percent"]], "%")
            result.figure(f"{case}_proxy_rss_at_capacity", [at[0]["proxy_rss_mib"]], "MiB")
    met = bool(caps["openai"])
    for case, goal in TARGETS.items():
        ratio = caps[case] / caps["openai"] if caps["openai"] else 0.0
        result.add_ratio(f"{case}/openai capacity", [ratio])
        met = met and ratio >= goal
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
    result.summary = (
        f"capacity: openai/ {caps['openai']}, plugin {caps['plugin']}, plugin + stream_coalesce "
        f"{caps['plugin_coalesce']} streams (largest passing step, failures below it or not: "
        f"{best['openai']}, {best['plugin']}, {best['plugin_coalesce']})"
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result.extra = {
        "steps": rows,
        "cpu_per_token_steps": costs,
        "plot": str(PLOT.relative_to(ROOT)),
        "loadavg_at_end": [round(x, 2) for x in load] if load else None,
        "cpus": {"proxy": sorted(proxy_cpus or []), "server_and_clients": sorted(other_cpus or [])},
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
        f"*_best_passing_step). Plot: {PLOT.relative_to(ROOT)}. After the ramp, each case and "
        f"the floor (bench/_floor.py: a no-I/O CustomLLM in the proxy, same pacing and chunks, "
        f"stamped as it yields) run {COST_STREAMS} streams once more, back to back: "
        "*_proxy_cpu_ms_per_token_at_* = proxy CPU / tokens per second; the floor's is "
        "LiteLLM's own, so floor/openai is the least CPU per token any provider could reach."
    )
    return result
