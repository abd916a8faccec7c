"""proxy_capacity: how many concurrent streams one proxy worker carries before chunks run late.

Three processes, pinned where the machine allows: a ``litellm --config`` proxy with one worker
on CPU 0; the emulator + reference container (20 ms per token, each chunk stamped with its send
time) and the clients on CPU 1. In a step, N clients keep one 200-token stream each in flight
through the proxy; every chunk's delay is its receipt time minus the container's stamp.
Meanwhile the proxy's CPU, RSS and threads are sampled from /proc. A step passes with a p99
chunk delay within the case's limit and no error. Each repeat searches every case's capacity
(``_capacity_search``), the cases in lockstep so that they share the machine's moods; the
result is the median of the repeats, with their spread.
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

from bench._capacity_search import QUICK_RESOLUTION, RESOLUTION, Search
from bench._core import Options, Result, percentile
from bench._servers import ROOT, Server, pin, server_process, stop
from bench.proxy import MASTER_KEY, deployments, proxy_process

ITL_MS: Final = 20.0
TOKENS: Final = 200
P99_LIMIT_MS: Final = 50.0
COALESCE_MS: Final = 50.0  # the plugin_window case's stream_coalesce_ms
CASES: Final = ("openai", "plugin", "plugin_window")
# A window delays a token by up to W by design: its case passes at p99 <= W + 10 ms.
LIMITS: Final = {"openai": P99_LIMIT_MS, "plugin": P99_LIMIT_MS, "plugin_window": COALESCE_MS + 10}
START: Final = 12  # the first load of the first repeat; later repeats start at the median so far
REPEATS: Final = 3
RAMP_S: Final = TOKENS * ITL_MS / 1e3  # starts spread over one stream's length
WINDOW_S: Final = 6.0
QUICK_WINDOW_S: Final = 2.0
PLOT: Final = ROOT / "docs" / "img" / "proxy_capacity.svg"
TARGETS: Final = {"plugin_window": 2.0}  # x openai/'s capacity, medians of the repeats
# LiteLLM's own knob (gen0, gen1, gen2): a full collection after every second generation-1
# one, so each full collection has ~15k objects of finished streams to free, not ~70k; with
# gc.freeze() it then pauses the worker 10-50 ms instead of 80-250 ms (docs/performance.md).
GC_THRESHOLD: Final = "700,10,1"
# The proxy's CPU per token, each case and a no-I/O provider (bench/_floor.py), at this load:
# what any provider could save against openai/ on this LiteLLM, if CPU set the capacity.
COST_STREAMS: Final = 10
FLOOR: Final = "floor"
FLOOR_PROVIDER: Final = {"provider": "bench_floor", "custom_handler": "bench._floor.handler"}
# Set to run the experiment of bench/_router_cycle.py (results then say so).
BREAK_CYCLE_ENV: Final = "BENCH_BREAK_ROUTER_CYCLE"
BREAK_CYCLE_PREAMBLE: Final = (
    "import sys, bench._router_cycle as _rc\n"
    "if not _rc.install(): sys.exit('this LiteLLM has no per-stream Router class to break')\n"
)


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
    """plugin and openai/ as in proxy_overhead, plus the plugin with a coalescing window."""
    entries = deployments(server)
    coalescing = copy.deepcopy(entries[0])
    coalescing["model_name"] = "plugin_window"
    coalescing["litellm_params"]["stream_coalesce_ms"] = COALESCE_MS
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
        # Above 1 only where coalescing merged events, which it does only once they wait.
        "tokens_per_chunk": raw["tokens"] / len(delays) if delays else None,
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
    limit = LIMITS.get(case, P99_LIMIT_MS)
    row["passed"] = bool(
        delays and not raw["errors"] and row["p99_ms"] is not None and row["p99_ms"] <= limit
    )
    return row


def searches(
    base: str, opts: Options, sampler: Sampler, client_cpus: Any, gc_log: Path
) -> list[dict[str, Any]]:
    """Every repeat's search for every case, one step of each case in turn (order rotating)."""
    repeats = 1 if opts.quick else REPEATS
    window_s = QUICK_WINDOW_S if opts.quick else WINDOW_S
    resolution = QUICK_RESOLUTION if opts.quick else RESOLUTION
    rows: list[dict[str, Any]] = []
    for repeat in range(repeats):
        found = {c: [capacity(rows, c, r) for r in range(repeat)] for c in CASES}
        start = {c: int(percentile(found[c], 50)) if found[c] else START for c in CASES}
        search = {c: Search(max(start[c], 1), resolution) for c in CASES}
        turn = 0
        while active := [c for c in CASES if search[c].next() is not None]:
            shift = turn % len(active)
            turn += 1
            for case in active[shift:] + active[:shift]:
                streams = search[case].next()
                assert streams is not None
                row = step(base, case, streams, window_s, sampler, client_cpus, gc_log)
                row["repeat"] = repeat
                rows.append(row)
                search[case].record(streams, row["passed"])
                print(
                    f"[proxy_capacity] repeat {repeat + 1}/{repeats} {case} x{streams}: p99 "
                    f"{row['p99_ms']} ms, tokens/chunk {row['tokens_per_chunk']}, errors "
                    f"{row['errors']}, proxy CPU {row.get('proxy_cpu_percent', 0):.0f}%, full GCs "
                    f"{row['gc_full_collections']} (max {row['gc_max_pause_ms']:.0f} ms)",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(0.5)  # let the proxy finish logging the last streams
    return rows


def _of(rows: list[dict[str, Any]], case: str, repeat: int | None) -> list[dict[str, Any]]:
    return [r for r in rows if r["case"] == case and repeat in (None, r.get("repeat"))]


def capacity(rows: list[dict[str, Any]], case: str, repeat: int | None = None) -> int:
    """The largest step of ``case`` below its first failing step (0 if the first one failed).

    Sustained, not best: a full collection that happens to miss one step's window lets a step
    pass above one that failed, and counting that lucky step would credit the garbage
    collector's timing to the case (see :func:`best_step`).
    """
    sustained = 0
    for row in sorted(_of(rows, case, repeat), key=lambda r: r["streams"]):
        if not row["passed"]:
            break
        sustained = row["streams"]
    return sustained


def crossing(rows: list[dict[str, Any]], case: str, repeat: int | None = None) -> float:
    """Where the case's p99 crosses the limit, between its capacity and its first failing step.

    Linear between the two steps' p99. A ladder step apart is 14-17% near where a worker
    saturates, so two cases with the same capacity can still differ; this says by how much.
    It is the capacity itself when the failing step failed on errors, has no p99 above the
    capacity step's, or does not exist (the ladder ran out, or the first step failed).
    """
    sustained = capacity(rows, case, repeat)
    steps = sorted(_of(rows, case, repeat), key=lambda r: r["streams"])
    at = next((r for r in steps if r["streams"] == sustained), None)
    failing = next((r for r in steps if r["streams"] > sustained), None)
    if at is None or failing is None or failing["errors"] or failing["p99_ms"] is None:
        return float(sustained)
    low, high = at["p99_ms"], failing["p99_ms"]
    if high <= low:
        return float(sustained)
    share = (LIMITS.get(case, P99_LIMIT_MS) - low) / (high - low)
    return sustained + share * (failing["streams"] - sustained)


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
                preamble=BREAK_CYCLE_PREAMBLE if breaking_cycle() else "",
            )
        )
        sampler = Sampler({"proxy": proc.pid, "server": server.pid})
        stack.callback(sampler.close)
        for case in (*CASES, FLOOR):  # tokens minted, connections pooled, lazy imports done
            step(base, case, 5, 1.0, sampler, other_cpus)
        os.kill(proc.pid, signal.SIGUSR1)  # freeze again, as docs/performance.md advises
        time.sleep(1.0)
        rows = searches(base, opts, sampler, other_cpus, gc_log)
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
    repeats = sorted({r["repeat"] for r in rows})
    caps = {c: int(percentile([capacity(rows, c, r) for r in repeats], 50)) for c in CASES}
    PLOT.write_text(capacity_plot(rows, CASES, LIMITS, caps, subtitle))
    from bench._capacity_report import report, steps_table

    print(steps_table(rows), file=sys.stderr)
    return report(rows, costs, opts, proxy_cpus, other_cpus)


def breaking_cycle() -> bool:
    return bool(os.environ.get(BREAK_CYCLE_ENV))
