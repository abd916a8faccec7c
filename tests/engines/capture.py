"""Run the conformance kit against a running engine through the recorder, and store the capture.

Usage (``make engines`` calls it once per engine, after start_ENGINE.sh)::

    .venv/bin/python tests/engines/capture.py ENGINE [--out DIR]

It reads ``$ENGINES_HOME/ENGINE.meta.json`` (written by the start script) for the URL, model,
command line and versions. The kit runs as its CLI with its default bounds, as a user would run
it, once in direct mode and once in mock mode (behind the emulator), both through the recording
proxy. An engine that the first run left unable to answer (still busy with a load check's
request) is restarted before the second. Then the capture is replayed to the kit as CI replays
it, and any verdict the replay does not reproduce is named.
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
from typing import Any, Final

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# This checkout's kit, not the one the shared venv's editable install points at (another
# worktree's): the kit that records must be the kit that replays.
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from captures.captures_support import moved_verdicts, replay_kit  # noqa: E402

from conformance import __version__  # noqa: E402
from conformance._capture import Recorder, write_exchanges  # noqa: E402
from conformance._capture._format import EXCHANGES_FILE, FORMAT_VERSION, MANIFEST_FILE  # noqa: E402
from conformance._clients._envs import CACHE_VARIABLE as CLIENTS_CACHE  # noqa: E402
from conformance._engine._report import EXIT_INCOMPLETE, EXIT_MUST_FAILED, EXIT_OK  # noqa: E402
from conformance._wire._serve import serve_app  # noqa: E402

CLI = Path(sys.executable).parent / "sagemaker-openai-conformance"
MODES = ("direct", "mock")
TITLES = {
    "transformers": "transformers serve",
    "llamacpp": "llama-cpp-python server",
    "vllm": "vLLM (CPU build)",
}
# How long an engine may take to answer a 1-token request between two kit runs before it is
# deemed still busy with the first run's load and restarted.
IDLE_PROBE_SECONDS: Final = 30.0


def run_kit(url: str, mode: str, model: str) -> dict[str, Any]:
    """The kit's CLI against ``url``: wall time, exit code, bounds and the JSON report's verdicts."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [str(CLI), "--target", url, "--mode", mode, "--model", model]
        command += ["--format", "json", "--output", str(report)]
        # The client matrix runs from the repo's own cache (`make clients`), never the user's.
        path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
        env = {**os.environ, "PYTHONPATH": path}
        env.setdefault(CLIENTS_CACHE, str(REPO / ".clients"))
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        wall = time.perf_counter() - start
        if done.returncode not in (EXIT_OK, EXIT_MUST_FAILED, EXIT_INCOMPLETE):
            sys.exit(f"the kit failed to run ({done.returncode}):\n{done.stderr}")
        data = json.loads(report.read_text(encoding="utf-8"))
    results = [{k: r[k] for k in ("id", "severity", "outcome", "message")} for r in data["results"]]
    return {
        "wall_seconds": round(wall, 1),
        "exit_code": done.returncode,
        "request_timeout": data["request_timeout"],
        "budget": data["budget"],
        "requests": data["requests"],
        "stopped": data["stopped"],
        "summary": data["summary"],
        "results": results,
        "clients": [_client(c) for c in data.get("clients", [])],
    }


def _client(result: dict[str, Any]) -> dict[str, Any]:
    """A client's row of the matrix, with the broken steps' details (the evidence) only."""
    broken = [s for s in result["steps"] if not s["ok"]]
    keep = ("client", "title", "version", "runtime", "readiness", "message")
    return {
        **{k: result[k] for k in keep},
        "broken_steps": [{"step": s["step"], "detail": s["detail"]} for s in broken],
    }


def answers(url: str, model: str) -> bool:
    """Whether the engine answers a 1-token request within IDLE_PROBE_SECONDS."""
    body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    try:
        with httpx.Client(timeout=IDLE_PROBE_SECONDS, trust_env=False) as client:
            return client.post(url + "/v1/chat/completions", json=body).status_code == 200
    except httpx.HTTPError:
        return False


def restart(engine: str) -> None:
    """Stop and start the engine with its scripts."""
    print(f"{engine}: restarting the engine", flush=True)
    subprocess.run([str(HERE / "stop.sh"), engine], check=True)
    subprocess.run([str(HERE / f"start_{engine}.sh")], check=True)


def git_commit() -> str:
    """The commit the kit ran from; ``-dirty`` when the kit or these scripts were edited since.

    Captures and the docs page are rewritten by ``make engines`` itself, so they do not count.
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )

    commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    edited = git(
        "status", "--porcelain", "--", "conformance", "tests/engines", "tests/captures/*.py"
    )
    return commit + ("-dirty" if edited.stdout.strip() else "")


def record_runs(
    engine: str, recorder: Recorder, meta: dict[str, Any], restarted: list[str]
) -> dict[str, Any]:
    """Run the kit in each mode through the recorder, from an engine that answers."""
    runs: dict[str, Any] = {}
    with serve_app(recorder) as url:
        for mode in MODES:
            if runs and not answers(meta["url"], meta["model"]):
                restart(engine)
                restarted.append(mode)
            recorder.run = mode
            print(f"{engine}: {mode} mode", flush=True)
            runs[mode] = run_kit(url, mode, meta["model"])
            done = runs[mode]
            print(
                f"{engine}: {mode}: {done['summary']}, exit {done['exit_code']} "
                f"in {done['wall_seconds']} s",
                flush=True,
            )
    return runs


def capture(engine: str, out: Path, home: Path) -> dict[str, Any]:
    meta = json.loads((home / f"{engine}.meta.json").read_text(encoding="utf-8"))
    install_file = home / f"{engine}.install.json"
    install = json.loads(install_file.read_text()) if install_file.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(meta["url"])
    restarted: list[str] = []
    runs = record_runs(engine, recorder, meta, restarted)
    write_exchanges(out / EXCHANGES_FILE, recorder.take())
    manifest = {
        "format": FORMAT_VERSION,
        "engine": engine,
        "title": TITLES.get(engine, engine),
        "versions": meta["versions"],
        "python": meta["python"],
        "command": meta["command"],
        "model": meta["model"],
        "restarted_before": restarted,
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
    """Replay the new capture to the kit as CI will; what the replay did not reproduce."""
    moved = []
    for mode in MODES:
        replayed = replay_kit(out, mode, manifest)
        moved += [f"{mode} {line}" for line in moved_verdicts(manifest, mode, replayed)]
        print(
            f"{engine}: replayed {mode} in {replayed.seconds:.1f} s "
            f"(request timeout {replayed.request_timeout:.1f} s)"
        )
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("engine")
    parser.add_argument("--out", type=Path, help="capture folder (default tests/captures/ENGINE)")
    args = parser.parse_args()
    home = Path(os.environ.get("ENGINES_HOME", REPO / ".engines"))
    out = args.out or REPO / "tests" / "captures" / args.engine
    manifest = capture(args.engine, out, home)
    changed = verify(args.engine, out, manifest)
    for line in changed:
        print(f"{args.engine}: NOT REPRODUCED by the replay: {line}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
