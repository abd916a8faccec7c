"""Run the conformance kit against a running engine through the recorder, and store the capture.

Usage (``make engines`` calls it once per engine, after start_ENGINE.sh)::

    .venv/bin/python tests/engines/capture.py ENGINE [--isolate CHECK]... [--out DIR]

It reads ``$ENGINES_HOME/ENGINE.meta.json`` (written by the start script) for the URL, model,
command line and versions. The kit runs as its CLI, as a user would run it, once in direct mode
and once in mock mode (behind the emulator), both through the recording proxy. Then the capture
is replayed to the kit as CI replays it, and any verdict the replay does not reproduce is named.
``--isolate CHECK`` runs a check that leaves the engine unusable alone, after the others, and
restarts the engine after it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance._capture import Recorder, write_exchanges
from conformance._capture._format import EXCHANGES_FILE, FORMAT_VERSION, MANIFEST_FILE
from conformance._runner import select_checks
from conformance._serve import serve_app

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests"))
from captures.captures_support import recorded_outcomes, replay_kit  # noqa: E402

CLI = Path(sys.executable).parent / "sagemaker-openai-conformance"
MODES = ("direct", "mock")
TITLES = {
    "transformers": "transformers serve",
    "llamacpp": "llama-cpp-python server",
    "vllm": "vLLM (CPU build)",
}


def run_kit(url: str, mode: str, model: str, select: list[str] | None) -> dict[str, Any]:
    """The kit's CLI against ``url``: wall time, exit code and the JSON report's verdicts."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [str(CLI), "--target", url, "--mode", mode, "--model", model]
        command += ["--format", "json", "--output", str(report)]
        command += ["--select", ",".join(select)] if select else []
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode not in (0, 1):
            sys.exit(f"the kit failed to run ({done.returncode}):\n{done.stderr}")
        data = json.loads(report.read_text(encoding="utf-8"))
    results = [{k: r[k] for k in ("id", "severity", "outcome", "message")} for r in data["results"]]
    return {"wall_seconds": wall, "exit_code": done.returncode, "results": results}


def merge(parts: list[dict[str, Any]], order: list[str]) -> dict[str, Any]:
    """One mode's runs (the main one, then each isolated check) as one run, in catalogue order."""
    results = sorted((r for p in parts for r in p["results"]), key=lambda r: order.index(r["id"]))
    summary: dict[str, int] = {}
    for result in results:
        summary[result["outcome"]] = summary.get(result["outcome"], 0) + 1
    return {
        "wall_seconds": round(sum(p["wall_seconds"] for p in parts), 1),
        "exit_code": max(p["exit_code"] for p in parts),
        "summary": summary,
        "results": results,
    }


def restart(engine: str) -> None:
    """Stop and start the engine with its scripts (after a check that leaves it unusable)."""
    print(f"{engine}: restarting the engine", flush=True)
    subprocess.run([str(HERE / "stop.sh"), engine], check=True)
    subprocess.run([str(HERE / f"start_{engine}.sh")], check=True)


def git_commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def record_runs(engine: str, recorder: Recorder, model: str, isolate: list[str]) -> dict[str, Any]:
    """Run the kit in each mode through the recorder; isolated checks run alone, last."""
    order = [c.id for c in select_checks()]
    main = [cid for cid in order if cid not in isolate] if isolate else None
    runs, dirty = {}, False
    with serve_app(recorder) as url:
        for mode in MODES:
            parts = []
            for select in [main, *([cid] for cid in isolate)]:
                if dirty:
                    restart(engine)
                recorder.run = mode
                what = "every check" if select is None else ", ".join(select)
                if select is main and isolate:
                    what = f"every check but {', '.join(isolate)}"
                print(f"{engine}: {mode} mode, {what}", flush=True)
                parts.append(run_kit(url, mode, model, select))
                dirty = select is not main
            runs[mode] = merge(parts, order)
            print(f"{engine}: {mode}: {runs[mode]['summary']} in {runs[mode]['wall_seconds']} s")
    return runs


def capture(engine: str, out: Path, home: Path, isolate: list[str]) -> dict[str, Any]:
    meta = json.loads((home / f"{engine}.meta.json").read_text(encoding="utf-8"))
    install_file = home / f"{engine}.install.json"
    install = json.loads(install_file.read_text()) if install_file.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(meta["url"])
    runs = record_runs(engine, recorder, meta["model"], isolate)
    write_exchanges(out / EXCHANGES_FILE, recorder.take())
    manifest = {
        "format": FORMAT_VERSION,
        "engine": engine,
        "title": TITLES.get(engine, engine),
        "versions": meta["versions"],
        "python": meta["python"],
        "command": meta["command"],
        "model": meta["model"],
        "isolated": isolate,
        "install_seconds": install.get("install_seconds"),
        "disk_bytes": install.get("disk_bytes"),
        "captured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kit_version": __version__,
        "kit_commit": git_commit(),
        "runs": runs,
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def verify(engine: str, out: Path, manifest: dict[str, Any]) -> list[str]:
    """Replay the new capture to the kit as CI will; the checks whose verdict changed."""
    changed = []
    for mode in MODES:
        replayed = replay_kit(out, mode, manifest["model"])
        want, got = recorded_outcomes(manifest, mode), replayed.outcomes
        changed += [
            f"{mode} {cid}: {want.get(cid)} recorded, {got.get(cid)} replayed"
            for cid in sorted(want.keys() | got.keys())
            if want.get(cid) != got.get(cid)
        ]
        changed += [f"{mode} miss: {m}" for m in replayed.misses]
        print(f"{engine}: replayed {mode} in {replayed.seconds:.1f} s")
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("engine")
    parser.add_argument("--out", type=Path, help="capture folder (default tests/captures/ENGINE)")
    parser.add_argument(
        "--isolate",
        action="append",
        default=[],
        metavar="CHECK",
        help="run this check alone after the others, restarting the engine after it "
        "(for a check that leaves the engine unusable)",
    )
    args = parser.parse_args()
    home = Path(os.environ.get("ENGINES_HOME", REPO / ".engines"))
    out = args.out or REPO / "tests" / "captures" / args.engine
    manifest = capture(args.engine, out, home, args.isolate)
    changed = verify(args.engine, out, manifest)
    for line in changed:
        print(f"{args.engine}: NOT REPRODUCED by the replay: {line}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
