"""``python -m bench [--only ID ...] [--rounds N] [--quick] [--output PATH]``: run, print, save."""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Final

from bench._core import Options, Result, machine

# id -> module; each module has ``run(opts) -> Result``. Order: cheap first, proxy last.
BENCHMARKS: Final = {
    "auth_per_request": "bench.auth",
    "nonstream_overhead": "bench.nonstream",
    "stream_per_chunk": "bench.stream",
    "stream_ttfc": "bench.ttfc",
    "stream_pacing": "bench.pacing",
    "concurrency": "bench.concurrency",
    "slow_first_byte": "bench.slow_first_byte",
    "wan": "bench.wan",
    "cold_start": "bench.cold_start",
    "scale_from_zero": "bench.scale_from_zero",
    "import_cost": "bench.imports",
    "proxy_overhead": "bench.proxy",
    "proxy_capacity": "bench.capacity",
    "sagemaker_chat": "bench.sagemaker_chat",
    "conformance_runtime": "bench.conformance_runtime",
}
DEFAULT_OUTPUT: Final = Path(__file__).with_name("results.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="ID")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 5, quick 3)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller N (~2 min)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON path")
    parser.add_argument("--list", action="store_true", help="list the benchmark ids and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    rounds = args.rounds or (3 if args.quick else 5)
    if rounds < 1:
        print("--rounds must be >= 1", file=sys.stderr)
        return 2
    opts = Options(rounds=rounds, quick=args.quick)
    ids = args.only or list(BENCHMARKS)
    results: dict[str, dict[str, Any]] = {}
    failed = []
    started = time.perf_counter()
    for bench_id in ids:
        print(f"[bench] {bench_id} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            result: Result = importlib.import_module(BENCHMARKS[bench_id]).run(opts)
            entry = result.to_json()
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            failed.append(bench_id)
            entry = {
                "what": "",
                "target": "",
                "met": False,
                "result": f"error: {exc!r}",
                "figures": {},
                "ratio": {},
                "notes": "the benchmark raised",
            }
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        results[bench_id] = entry
        print(f"[bench] {bench_id}: {entry['result']} ({entry['seconds']} s)", file=sys.stderr)
    document = _merge(args.output, args.only is not None, results, opts)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(render_table(document, ids))
    total = time.perf_counter() - started
    print(f"\n{len(ids)} benchmark(s) in {total:.0f} s; wrote {args.output}")
    return 1 if failed else 0


def _merge(
    path: Path, partial: bool, results: dict[str, dict[str, Any]], opts: Options
) -> dict[str, Any]:
    # With --only, keep the other benchmarks' last figures so one file holds the whole table.
    benchmarks: dict[str, Any] = {}
    if partial and path.exists():
        try:
            benchmarks = json.loads(path.read_text()).get("benchmarks", {})
        except (OSError, ValueError):
            benchmarks = {}
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for entry in results.values():
        entry["generated"] = stamp
        entry["rounds"] = opts.rounds
        entry["quick"] = opts.quick
    benchmarks.update(results)
    ordered = {k: benchmarks[k] for k in BENCHMARKS if k in benchmarks}
    return {
        "machine": machine(),
        "generated": stamp,
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "benchmarks": ordered,
    }


def render_table(document: dict[str, Any], ids: list[str] | None = None) -> str:
    """A Markdown table: id, what, target, result, met?"""
    rows = ["| id | what | target | result | met? |", "|---|---|---|---|---|"]
    for bench_id, entry in document["benchmarks"].items():
        if ids is not None and bench_id not in ids:
            continue
        met = {True: "yes", False: "**no**", None: "report"}[entry.get("met")]
        cells = (bench_id, entry["what"], entry["target"], entry["result"], met)
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
