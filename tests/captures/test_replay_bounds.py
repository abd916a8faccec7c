"""A replay reaches the recorded verdicts fast, including a run the budget cut short."""

from __future__ import annotations

from pathlib import Path

import pytest
from captures.captures_support import (
    REPLAY_SLACK,
    ReplayLimits,
    kit_report,
    moved_verdicts,
    replay_kit,
    replay_limits,
)

from conformance._capture import Recorder, write_exchanges
from conformance._capture._format import EXCHANGES_FILE
from conformance._engine._registry import Outcome
from conformance._engine._report import Result
from conformance._reference import create_reference_app
from conformance._wire._limits import BudgetExhausted
from conformance._wire._serve import serve_app
from conformance.checks import select_checks


def test_a_replay_waits_for_the_slowest_answer_not_for_the_recorded_timeout() -> None:
    run = {"request_timeout": 20.0, "budget": 180.0, "stopped": None}
    assert replay_limits(run, 0.5).request_timeout == 1.0 + REPLAY_SLACK
    assert replay_limits(run, 0.5).budget is None
    assert replay_limits(run, 60.0).request_timeout == 20.0  # never longer than live


def test_the_replay_budget_runs_out_after_the_check_it_ran_out_after_live() -> None:
    stopped = {"reason": "budget", "message": "the 180 s budget ran out", "after": "chat.stop"}
    limits = replay_limits({"request_timeout": 20.0, "budget": 180.0, "stopped": stopped}, 1.0)
    limits.start(already=3600.0)  # time alone never spends it, however slow the replay
    assert limits.request_deadline()[1] is False
    for check in select_checks(select="chat.schema,chat.stop"):
        limits.check_budget()  # not spent before chat.stop has run
        limits.finished(check, Result(check.id, check.severity, Outcome.PASSED))
    with pytest.raises(BudgetExhausted, match="180 s budget"):
        limits.request_deadline()


@pytest.mark.slow
def test_a_run_the_budget_cut_short_replays_to_the_same_stop(tmp_path: Path) -> None:
    recorder = Recorder("http://unused.invalid")
    recorder.run = "direct"
    with serve_app(create_reference_app()) as upstream:
        recorder.upstream = upstream
        with serve_app(recorder) as url:
            # As if a 180 s budget had run out right after chat.schema.
            live = ReplayLimits(budget=180.0, spend_after="chat.schema")
            report = kit_report(url, "direct", "", live)
    write_exchanges(tmp_path / EXCHANGES_FILE, recorder.take())
    assert report.stopped is not None and report.stopped.after == "chat.schema"
    run = report.to_dict()
    manifest = {"model": "", "runs": {"direct": run}}
    not_run = [r for r in run["results"] if r["message"].startswith("not run:")]
    assert not_run and report.exit_code == 3

    replayed = replay_kit(tmp_path, "direct", manifest)
    assert moved_verdicts(manifest, "direct", replayed) == []
    assert replayed.report.stopped is not None
    assert replayed.report.stopped.after == "chat.schema"
