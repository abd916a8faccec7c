"""The kit's three entry points, each run in a fresh, measured process: CLI, plugin, library.

Every runner gives a KitRun whose ``report`` has the JSON report's shape for what the tests
read (``results`` with ``id``, ``outcome`` and ``message``; ``stopped``; ``duration``;
``exit_code``). Run as a script, ``python tests/kit/entry_points.py URL MODE BUDGET TIMEOUT
OUTPUT`` is the library entry point: ``conformance.run()``, its report written as JSON.
"""

from __future__ import annotations

import json
import signal
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

SCRIPT: Final = Path(__file__).resolve()
ENTRIES: Final = ("cli", "plugin", "library")
# The plugin loaded as a user's project loads it, minus the copy pytest11 may also register.
PLUGIN: Final = ("-p", "no:sagemaker_openai_conformance", "-p", "conformance.plugin")


def _bounds(url: str, mode: str, budget: float, timeout: float) -> dict[str, list[str]]:
    cli = ["--target", url, "--mode", mode, "--budget", f"{budget:g}"]
    plugin = [f"--conformance-target={url}", f"--conformance-mode={mode}"]
    plugin.append(f"--conformance-budget={budget:g}")
    return {
        "cli": [*cli, "--request-timeout", f"{timeout:g}"],
        "plugin": [*plugin, f"--conformance-request-timeout={timeout:g}"],
    }


def run_entry(
    entry: str,
    url: str,
    output: Path,
    *,
    mode: str = "direct",
    budget: float,
    timeout: float,
    kill_after: float,
    signal_at: str | None = None,
    signum: int = signal.SIGINT,
) -> Any:
    """Run the kit through ``entry`` against ``url``; a KitRun (see tests/kit/hostile.py)."""
    from kit.hostile import KitRun, launch, run_kit

    bounds = _bounds(url, mode, budget, timeout)
    if entry == "cli":
        return run_kit(
            bounds["cli"], output, kill_after=kill_after, signal_at=signal_at, signum=signum
        )
    errors = output.with_suffix(".stderr")
    if entry == "plugin":
        xml = output.with_suffix(".xml")
        argv = ["-m", "pytest", *PLUGIN, *bounds["plugin"], f"--junitxml={xml}"]
        # An empty folder of its own: no project tests, no project configuration.
        argv += ["-q", "-p", "no:cacheprovider", f"--rootdir={output.parent}", str(output.parent)]
        code, wall, rss, stderr = launch(
            argv, errors, kill_after=kill_after, signal_at=signal_at, signum=signum
        )
        report = junit_report(xml, code) if xml.exists() else None
        return KitRun(code, report, wall, rss, stderr)
    argv = [str(SCRIPT), url, mode, f"{budget:g}", f"{timeout:g}", str(output)]
    code, wall, rss, stderr = launch(argv, errors, kill_after=kill_after)
    report = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
    return KitRun(code, report, wall, rss, stderr)


def junit_report(path: Path, code: int) -> dict[str, Any]:
    """pytest's JUnit report of the plugin's run, in the JSON report's shape."""
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None, f"{path} holds no testsuite"
    results: list[dict[str, str]] = []
    for case in suite.iter("testcase"):
        outcome, message = "passed", ""
        for tag, name in (("failure", "failed"), ("error", "errored"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                outcome, message = name, node.get("message") or ""
                break
        results.append({"id": case.get("name") or "", "outcome": outcome, "message": message})
    stops = [r["message"] for r in results if "not run: " in r["message"]]
    return {
        "results": results,
        "duration": float(suite.get("time", "0")),
        "exit_code": code,
        "stopped": {"message": stops[0]} if stops else None,
    }


def main(argv: Sequence[str]) -> int:
    """The library entry point: ``conformance.run()`` against URL; the JSON report to OUTPUT."""
    import conformance

    url, mode, budget, timeout, output = argv
    report = conformance.run(url, mode=mode, budget=float(budget), request_timeout=float(timeout))
    Path(output).write_text(json.dumps(report.to_dict()), encoding="utf-8")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
