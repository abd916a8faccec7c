"""conformance_runtime: the whole conformance kit against the reference container, wall time."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any, Final

from bench._core import Options, Result, interleave
from bench._servers import ROOT

TARGET_S: Final = 15.0


def run(opts: Options) -> Result:
    import conformance

    summaries: list[dict[str, Any]] = []

    def in_process() -> float:
        start = time.perf_counter()
        report = conformance.run("reference")
        elapsed = time.perf_counter() - start
        summaries.append(
            {
                "summary": dict(report.summary),
                "exit_code": report.exit_code,
                "requests": getattr(report, "requests", None),
            }
        )
        return elapsed

    def cli() -> float:
        # What a user runs: a fresh interpreter, imports included.
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "conformance", "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            timeout=300,
            check=False,
        )
        return time.perf_counter() - start

    cases = {"run_reference": in_process, "cli_reference": cli}
    if opts.quick:  # the judged figure only
        del cases["cli_reference"]
    rounds = interleave(cases, opts.rounds)
    result = Result(
        id="conformance_runtime",
        what='the whole kit against the reference: conformance.run("reference")',
        target=f"<= {TARGET_S:.0f} s",
        met=None,
    )
    result.figure("run_reference_wall", rounds["run_reference"], "s")
    if "cli_reference" in rounds:
        result.figure("cli_reference_wall", rounds["cli_reference"], "s")
    wall = result.figures["run_reference_wall"]
    last = summaries[-1]
    clean = all(s["exit_code"] == 0 for s in summaries)
    result.met = wall["median"] <= TARGET_S and clean
    cli_wall = result.figures.get("cli_reference_wall")
    cli_text = f"; CLI with imports {cli_wall['median']:.2f} s" if cli_wall else ""
    result.summary = (
        f"{wall['median']:.2f} s in-process (max {wall['max']:.2f}){cli_text}; {last['summary']}"
    )
    result.extra = {"last_report": last}
    result.notes = (
        'conformance.run("reference") in this process (it starts the emulator and reference '
        "in-process and stops them), and `python -m conformance --format json` in a fresh "
        "interpreter (imports included), interleaved after one warm-up each. met also needs "
        "exit code 0 (no MUST check failed) in every round."
    )
    return result
