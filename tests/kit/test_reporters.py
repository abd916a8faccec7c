"""Reporters: the JSON schema, JUnit XML that parses, and the text table with evidence."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import conformance
from conformance._engine._registry import Outcome, Severity
from conformance._engine._report import Stop
from conformance._engine._reporters import write_json, write_junit, write_text
from conformance._engine._runner import Report, Result

EVIDENCE = {
    "sent": {"method": "POST", "url": "http://c/v1/chat/completions", "headers": {},
             "body": '{"model": "", "stream": true}'},
    "received": {"status": 200, "headers": {"content-type": "text/event-stream"},
                 "body": "event: ping\\n\n\\n\n"},
}  # fmt: skip
REPORT = Report(
    target="http://c",
    mode="direct",
    results=(
        Result("sse.done", Severity.MUST, Outcome.PASSED, "", None, 0.01),
        Result(
            "sse.no_dataless_events",
            Severity.MUST,
            Outcome.FAILED,
            "a frame without data",
            EVIDENCE,
            0.02,
            "docs/kit/checks.md#sse-no_dataless_events",
            "send only data: events.",
        ),
        Result("chunk.n", Severity.SHOULD, Outcome.SKIPPED, "the container refuses n=2"),
        Result("errors.shape", Severity.MUST, Outcome.ERRORED, "KeyError: 'x'"),
        Result("sse.incremental", Severity.SHOULD, Outcome.PASSED, "67 events over 64 reads"),
    ),
    duration=1.5,
    requests=12,
    started_at="2026-09-01T12:00:00+00:00",
    budget=180.0,
    request_timeout=20.0,
)


def render(writer: object) -> str:
    out = io.StringIO()
    writer(REPORT, out)  # type: ignore[operator]
    return out.getvalue()


def test_json_has_exactly_the_documented_shape() -> None:
    data = json.loads(render(write_json))
    assert set(data) == {
        "kit_version", "target", "mode", "started_at", "duration", "budget", "request_timeout",
        "requests", "strict", "exit_code", "stopped", "results", "clients", "repeat", "summary",
    }  # fmt: skip
    assert data["clients"] == []  # no client ran: the key is there, empty
    assert data["kit_version"] == conformance.__version__
    assert (data["target"], data["mode"]) == ("http://c", "direct")
    assert (data["started_at"], data["duration"]) == ("2026-09-01T12:00:00+00:00", 1.5)
    assert (data["budget"], data["request_timeout"], data["requests"]) == (180.0, 20.0, 12)
    assert (data["exit_code"], data["stopped"]) == (1, None)
    assert data["summary"] == {"passed": 2, "failed": 1, "errored": 1, "skipped": 1}
    assert (data["clients"], data["repeat"]) == ([], {"runs": 1, "flaky": []})
    base = {"id", "severity", "layer", "outcome", "message", "evidence", "duration", "docs"}
    for item in data["results"]:
        bad = item["outcome"] in ("failed", "errored")
        assert set(item) == (base | {"fix"} if bad else base)
    failed = data["results"][1]
    assert failed["docs"] == "docs/kit/checks.md#sse-no_dataless_events"
    assert failed["fix"] == "send only data: events."
    assert failed["outcome"] == "failed" and failed["severity"] == "MUST"
    assert failed["evidence"]["received"]["body"].startswith("event: ping")
    assert data["results"][0]["evidence"] is None


def test_junit_parses_and_has_one_testcase_per_check() -> None:
    root = ET.fromstring(render(write_junit))
    suite = root.find("testsuite")
    assert suite is not None
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == ("5", "1", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [r.id for r in REPORT.results]
    failure = cases["sse.no_dataless_events"].find("failure")
    assert failure is not None and failure.get("message") == "a frame without data"
    assert "event: ping" in (failure.text or "") and "POST http://c" in (failure.text or "")
    assert cases["errors.shape"].find("error") is not None
    assert cases["chunk.n"].find("skipped") is not None
    assert cases["sse.done"].find("failure") is None
    assert cases["sse.done"].get("classname") == "conformance.sse"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"target": "http://c", "mode": "direct", "exit_code": "1", "strict": "false"}
    assert "how to fix: send only data: events." in (failure.text or "")


def test_text_table_failures_and_verdict() -> None:
    text = render(write_text)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("CHECK"))
    table = lines[header + 1 : header + 6]
    assert [line.split()[0] for line in table] == [r.id for r in REPORT.results]
    assert "FAILED" in table[1] and "a frame without data" in table[1]
    assert "sent:     POST http://c/v1/chat/completions" in text
    assert "received: HTTP 200 text/event-stream" in text
    assert "event: ping" in text
    assert (
        "  how to fix: send only data: events. (see docs/kit/checks.md#sse-no_dataless_events)"
        in lines
    )
    assert "2 passed, 1 failed, 1 errored, 1 skipped in 1.5 s (12 requests)" in text
    assert text.rstrip().endswith(
        "exit 1: MUST checks failed: sse.no_dataless_events, errors.shape"
    )


def test_long_reasons_are_cut_to_one_line() -> None:
    report = Report(
        "t", "mock", (Result("a.b", Severity.INFO, Outcome.PASSED, "x " * 200 + "\nmore"),)
    )
    out = io.StringIO()
    write_text(report, out)
    row = next(line for line in out.getvalue().splitlines() if line.startswith("a.b"))
    assert row.endswith("…") and len(row) < 120


def test_a_stopped_run_says_why_in_every_format() -> None:
    stop = Stop("budget", "the 5 s budget ran out", "sse.done")
    results = (
        Result("sse.done", Severity.MUST, Outcome.PASSED),
        Result("chunk.n", Severity.SHOULD, Outcome.SKIPPED, "not run: ..."),
    )
    report = replace(REPORT, results=results, stopped=stop)
    assert report.exit_code == 3
    data = json.loads(_render(report, write_json))
    assert data["stopped"] == {
        "reason": "budget",
        "message": "the 5 s budget ran out",
        "after": "sse.done",
    }
    assert data["exit_code"] == 3
    text = _render(report, write_text)
    assert "stopped early: the 5 s budget ran out" in text
    assert text.rstrip().endswith("exit 3: the run stopped before every check ran")
    props = {
        p.get("name"): p.get("value")
        for p in ET.fromstring(_render(report, write_junit)).iter("property")
    }
    assert props["stopped"] == "the 5 s budget ran out" and props["exit_code"] == "3"


def test_a_signal_gives_the_shells_exit_code() -> None:
    report = replace(REPORT, stopped=Stop("SIGTERM", "interrupted by SIGTERM", None))
    assert report.exit_code == 143
    assert replace(REPORT, stopped=Stop("SIGINT", "interrupted by SIGINT")).exit_code == 130


def _render(report: Report, writer: object) -> str:
    out = io.StringIO()
    writer(report, out)  # type: ignore[operator]
    return out.getvalue()
