"""Bounded runs: the CLI against hostile servers finishes inside its budget, in little memory.

Each hostile kind (tests/kit/hostile.py) runs as its own process, and so does the kit, whose
wall time and peak RSS are measured with os.wait4. Two runs go at a time (two cores; the
budget counts from the kit process's start, so a crowded machine eats into it); the wall
time assertion only catches a kit that ignores its budget. `python tests/kit/hostile.py measure` prints the
same figures one run at a time.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kit.hostile import BOUNDS, KINDS, KitRun, hostile, run_kit, serve

from conformance.checks import select_checks

MAX_RSS_MB = 200
SLACK_S = 10.0  # a loaded 2-core machine starting several interpreters at once


def bounded(kind: str, output: Path, *extra: str) -> KitRun:
    budget, timeout = BOUNDS[kind]
    with serve(hostile(kind)) as url:
        args = ["--target", url, "--budget", str(budget), "--request-timeout", str(timeout)]
        return run_kit([*args, *extra], output, kill_after=budget * 3 + 30)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[KitRun]]]:
    out = tmp_path_factory.mktemp("hostile")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {kind: pool.submit(bounded, kind, out / f"{kind}.json") for kind in KINDS}
        futures["hang-mock"] = pool.submit(
            bounded, "hang", out / "hang-mock.json", "--mode", "mock"
        )
        yield futures


def finished(runs: dict[str, Future[KitRun]], name: str) -> tuple[KitRun, dict[str, Any]]:
    run = runs[name].result(timeout=300)
    budget = BOUNDS[name.removesuffix("-mock")][0]
    assert run.report is not None, run.stderr[-2000:]
    stopped = (run.report["stopped"] or {}).get("reason")
    print(
        f"\n{name}: wall {run.wall:.1f} s (budget {budget:g} s; checks "
        f"{run.report['duration']:.1f} s), peak RSS {run.rss_mb:.0f} MB, exit {run.code}, "
        f"stopped: {stopped}"
    )
    assert "Traceback" not in run.stderr
    assert run.rss_mb <= MAX_RSS_MB
    assert run.report["duration"] <= budget * 1.2
    assert run.wall <= budget * 1.2 + SLACK_S
    mode = "mock" if name.endswith("-mock") else "direct"
    assert [r["id"] for r in run.report["results"]] == [c.id for c in select_checks(mode=mode)]
    assert run.report["exit_code"] == run.code
    return run, run.report


def outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["outcome"], r["message"]) for r in report["results"]}


@pytest.mark.parametrize("kind", ["drip", "keepalive"])
def test_a_never_ending_answer_costs_one_deadline_per_request(
    runs: dict[str, Future[KitRun]], kind: str
) -> None:
    run, report = finished(runs, kind)
    verdicts = outcomes(report)
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
def test_a_flood_is_cut_at_the_byte_cap(runs: dict[str, Future[KitRun]], kind: str) -> None:
    run, report = finished(runs, kind)
    verdicts = outcomes(report)
    assert verdicts["container.route"][0] == "failed"
    assert "the answer passed 7,340,032 bytes" in verdicts["container.route"][1]
    assert verdicts["sse.done"][0] == "failed"
    assert verdicts["chunk.schema"][1].startswith("blocked: the default streaming request was cut")
    assert run.code == 1


@pytest.mark.parametrize("name", ["hang", "hang-mock"])
def test_a_target_that_stops_answering_blocks_the_rest(
    runs: dict[str, Future[KitRun]], name: str
) -> None:
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
    runs: dict[str, Future[KitRun]],
) -> None:
    _, report = finished(runs, "serial")
    verdicts = outcomes(report)
    main = [c.id for c in select_checks(mode="direct") if c.stage == "main"]
    assert {i: verdicts[i] for i in main if verdicts[i][0] in ("failed", "errored")} == {}
    assert report["stopped"]["after"] == "container.large_body"
    assert verdicts["container.alive_after_load"][1].startswith("blocked: the target stopped")


def test_a_target_dying_mid_run_is_named(runs: dict[str, Future[KitRun]]) -> None:
    _, report = finished(runs, "dies")
    stopped = report["stopped"]
    assert stopped["reason"] == "target_stopped_answering"
    assert f"stopped answering after {stopped['after']}" in stopped["message"]
    verdicts = outcomes(report)
    died = verdicts[stopped["after"]]
    assert died[0] != "failed", died  # its silence is not that check's property
    assert {i: v for i, v in verdicts.items() if v[0] == "failed"} == {}


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_still_writes_the_partial_report(tmp_path: Path, signum: int, code: int) -> None:
    with serve(hostile("drip")) as url:
        args = ["--target", url, "--budget", "120", "--request-timeout", "5"]
        run = run_kit(
            args, tmp_path / "report.json", kill_after=60, signal_at="[ 2/", signum=signum
        )
    assert run.code == code, run.stderr[-2000:]
    assert run.report is not None and run.report["exit_code"] == code
    name = signal.Signals(signum).name
    assert run.report["stopped"]["reason"] == name
    assert run.wall < 30  # not the 120 s budget, nor one more 5 s request per check
    messages = [r["message"] for r in run.report["results"]]
    assert any(m.startswith(f"not run: interrupted by {name}") for m in messages)
    assert "Traceback" not in run.stderr
