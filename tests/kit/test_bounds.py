"""Bounded runs: every entry point against every hostile server ends in its budget, in little memory.

Each hostile kind (tests/kit/hostile.py) runs as its own process, and so does the kit, through
each of its entry points (tests/kit/entry_points.py): the CLI, the pytest plugin and
``conformance.run()``. Its wall time and peak RSS are the kit process's own. Two runs go at a
time (two cores; the budget counts from the kit process's start, so a crowded machine eats
into it); the wall time assertion only catches a kit that ignores its budget.
`python tests/kit/hostile.py measure` prints the CLI's figures one run at a time.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kit.entry_points import ENTRIES, PLUGIN, run_entry
from kit.hostile import BOUNDS, KINDS, KitRun, hostile, run_kit, serve

from conformance._wire._limits import WALL_SLACK
from conformance.checks import select_checks

MAX_RSS_MB = 200
SLACK_S = 10.0  # a loaded 2-core machine starting several interpreters at once
Runs = dict[tuple[str, str], "Future[KitRun]"]


def bounded(kind: str, entry: str, output: Path, mode: str = "direct") -> KitRun:
    budget, timeout = BOUNDS[kind]
    with serve(hostile(kind)) as url:
        return run_entry(
            entry, url, output, mode=mode, budget=budget, timeout=timeout,
            kill_after=budget * 3 + 30,
        )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            (kind, entry): pool.submit(
                bounded, kind, entry, tmp_path_factory.mktemp(f"{kind}-{entry}") / "report.json"
            )
            for entry in ENTRIES
            for kind in KINDS
        }
        futures["hang-mock", "cli"] = pool.submit(
            bounded, "hang", "cli", tmp_path_factory.mktemp("hang-mock") / "report.json", "mock"
        )
        yield futures


def finished(runs: Runs, name: str, entry: str = "cli") -> tuple[KitRun, dict[str, Any]]:
    run = runs[name, entry].result(timeout=600)
    budget = BOUNDS[name.removesuffix("-mock")][0]
    assert run.report is not None, run.stderr[-2000:]
    print(
        f"\n{name} through the {entry}: wall {run.wall:.1f} s (budget {budget:g} s; checks "
        f"{run.report['duration']:.1f} s), peak RSS {run.rss_mb:.0f} MB, exit {run.code}, "
        f"stopped: {(run.report['stopped'] or {}).get('message')}"
    )
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.rss_mb <= MAX_RSS_MB
    assert run.report["duration"] <= budget * 1.2
    assert run.wall <= budget * 1.2 + SLACK_S
    mode = "mock" if name.endswith("-mock") else "direct"
    assert [r["id"] for r in run.report["results"]] == [c.id for c in select_checks(mode=mode)]
    assert run.report["exit_code"] == run.code
    return run, run.report


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_entry_point_is_bounded_against_every_hostile_server(
    runs: Runs, kind: str, entry: str
) -> None:
    run, report = finished(runs, kind, entry)
    assert {r["outcome"] for r in report["results"]} != {"passed"}  # each kind breaks something
    assert run.code != 0


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["outcome"], r["message"]) for r in report["results"]}


@pytest.mark.parametrize("kind", ["drip", "stall", "keepalive"])
def test_a_never_ending_answer_costs_one_deadline_per_request(runs: Runs, kind: str) -> None:
    run, report = finished(runs, kind)
    verdicts = outcomes(report)
    # GET /ping gets the same never-ending answer: SageMaker's 2 s health check times out.
    assert verdicts["container.ping"][0] == "failed"
    assert "did not finish within 2 s" in verdicts["container.ping"][1]
    assert verdicts["container.route"][0] == "failed"
    assert "did not finish within 1.5 s" in verdicts["container.route"][1]
    assert run.code == 1
    stopped = report["stopped"]
    if stopped is not None:  # the budget usually runs out first; never anything else
        assert stopped["reason"] == "budget"
        assert any(
            m.startswith(f"not run: the {BOUNDS[kind][0]:g} s budget ran out after")
            for _, m in verdicts.values()
        )


@pytest.mark.parametrize("kind", ["endless", "big"])
def test_a_flood_is_cut_at_the_byte_cap(runs: Runs, kind: str) -> None:
    run, report = finished(runs, kind)
    verdicts = outcomes(report)
    assert verdicts["container.route"][0] == "failed"
    assert "the answer passed 7,340,032 bytes" in verdicts["container.route"][1]
    assert verdicts["sse.stream_ends"][0] == "failed"
    assert verdicts["sse.done"][1].startswith("blocked: sse.stream_ends failed")
    assert verdicts["chunk.schema"][1].startswith("blocked: the default streaming request was cut")
    assert run.code == 1


@pytest.mark.parametrize("name", ["hang", "hang-mock"])
def test_a_target_that_stops_answering_blocks_the_rest(runs: Runs, name: str) -> None:
    run, report = finished(runs, name)
    stopped = report["stopped"]
    assert stopped["reason"] == "target_stopped_answering"
    after = stopped["after"]
    ids = [r["id"] for r in report["results"]]
    rest = [outcomes(report)[i] for i in ids[ids.index(after) + 1 :]]
    assert rest and all(o == "skipped" for o, _ in rest)
    assert all(
        m.startswith(f"blocked: the target stopped answering after {after}") for _, m in rest
    )
    assert run.code == 3  # no verdict on any MUST: the run is incomplete


def test_a_serial_server_is_judged_before_the_load_checks_stall_it(
    runs: Runs,
) -> None:
    _, report = finished(runs, "serial")
    verdicts = outcomes(report)
    main = [c.id for c in select_checks(mode="direct") if c.stage == "main"]
    assert {i: verdicts[i] for i in main if verdicts[i][0] in ("failed", "errored")} == {}
    assert report["stopped"]["after"] == "container.large_body"
    assert verdicts["container.alive_after_load"][1].startswith("blocked: the target stopped")


def test_a_target_dying_mid_run_is_named(runs: Runs) -> None:
    _, report = finished(runs, "dies")
    stopped = report["stopped"]
    assert stopped["reason"] == "target_stopped_answering"
    assert f"stopped answering after {stopped['after']}" in stopped["message"]
    verdicts = outcomes(report)
    died = verdicts[stopped["after"]]
    assert died[0] != "failed", died  # its silence is not that check's property
    assert {i: v for i, v in verdicts.items() if v[0] == "failed"} == {}


SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
MOMENTS = {"during the checks": "[ 2/", "during the client matrix": "client matrix:"}


@pytest.mark.serial
@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_a_signal_still_writes_the_partial_report(
    tmp_path: Path, signum: int, code: int, moment: str
) -> None:
    with serve(hostile("drip")) as url:
        args = ["--target", url, "--budget", "120", "--request-timeout", "5"]
        if moment == "during the client matrix":
            args += ["--clients", "all"]
        run = run_kit(
            args, tmp_path / "report.json", kill_after=60, signal_at=MOMENTS[moment], signum=signum
        )
    assert run.code == code, run.stderr[-2000:]
    assert run.report is not None and run.report["exit_code"] == code
    name = signal.Signals(signum).name
    assert run.report["stopped"]["reason"] == name
    assert run.wall < 30  # not the 120 s budget, nor one more 5 s request per check
    messages = [r["message"] for r in run.report["results"]]
    assert any(m.startswith(f"not run: interrupted by {name}") for m in messages)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_reachability_probe_still_writes_a_report(
    tmp_path: Path, signum: int, code: int
) -> None:
    output = tmp_path / "report.json"
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, and never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        argv = ["--target", url, "--format", "json", "--output", str(output)]
        with subprocess.Popen(
            [sys.executable, "-m", "conformance", *argv], stderr=subprocess.PIPE, text=True
        ) as proc:
            silent.settimeout(60)
            connection, _ = silent.accept()  # the probe is connected, waiting for headers
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=60)
            connection.close()
    assert proc.returncode == code, stderr
    report = json.loads(output.read_text(encoding="utf-8"))
    name = signal.Signals(signum).name
    assert report["stopped"]["reason"] == name and report["exit_code"] == code
    assert {r["message"] for r in report["results"]} == {
        f"not run: interrupted by {name} before any check finished"
    }
    assert [r["id"] for r in report["results"]] == [c.id for c in select_checks(mode="direct")]
    assert "Traceback" not in stderr


def test_sigterm_ends_a_plugin_session_with_its_junit_report(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, and never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        argv = [
            *PLUGIN,
            f"--conformance-target={url}",
            f"--junitxml={xml}",
            "-p",
            "no:cacheprovider",
        ]
        with subprocess.Popen(
            [sys.executable, "-m", "pytest", *argv, f"--rootdir={tmp_path}", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            silent.settimeout(60)
            connection, _ = silent.accept()  # the first check waits for GET /ping's answer
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
            connection.close()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-2000:]
    assert "KeyboardInterrupt" in out and "SIGTERM" in out
    suite = ET.parse(xml).getroot()  # pytest wrote its report
    assert suite.find("testsuite") is not None


WALL_BUDGET = 5.0


@pytest.mark.serial
@pytest.mark.parametrize("mode", ["direct", "mock"])
@pytest.mark.parametrize("kind", ["stall", "keepalive", "drip"])
def test_the_budget_is_a_wall(tmp_path: Path, kind: str, mode: str) -> None:
    """With the default request timeout (20 s), the budget alone ends the run, and promptly.

    The budget counts from the process's start; past it, the run may take WALL_SLACK to cut
    its request, write its report and stop the emulator or reference it started. (Against
    `drip`, the reachability probe used to read GET / for hours.)
    """
    with serve(hostile(kind)) as url:
        args = ["--target", url, "--mode", mode, "--budget", f"{WALL_BUDGET:g}"]
        run = run_kit(args, tmp_path / "report.json", kill_after=60)
    assert run.report is not None, run.stderr[-2000:]
    assert run.report["stopped"]["reason"] == "budget"
    print(f"\n{kind} ({mode}): {run.wall - WALL_BUDGET:+.2f} s past a {WALL_BUDGET:g} s budget")
    assert run.wall <= WALL_BUDGET + WALL_SLACK
