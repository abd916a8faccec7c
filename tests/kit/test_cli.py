"""The command line: exit codes 0/1/2, the three formats, --output, --list and python -m."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import conformance
from conformance._doors._cli import main
from conformance._engine._local import KIT_REFERENCE
from conformance._reference import ReferenceConfig, create_reference_app
from conformance._wire._serve import serve_app
from conformance._wire._target import Target
from conformance.checks import select_checks


@pytest.fixture(scope="module")
def broken_url() -> Iterator[str]:
    """A container that refuses model "" and never sends [DONE]."""
    config = ReferenceConfig(**KIT_REFERENCE, faults=frozenset({"no_done", "reject_empty_model"}))
    with serve_app(create_reference_app(config)) as url:
        yield url


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_default_is_the_reference_behind_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    captured = capsys.readouterr()
    assert "built-in reference container behind the emulator" in captured.out
    assert "exit 0: no MUST check failed" in captured.out
    assert "[ 1/" in captured.err and "passed  MUST   container.route" in captured.err


def test_json_format(reference_direct: Target, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(["--target", reference_direct.base_url, "--select", "chat.*"], capsys)
    assert code == 0
    assert data["mode"] == "direct"
    expected = [c.id for c in select_checks(select="chat.*", mode="direct")]  # the registry's
    assert len(expected) >= 5 and [r["id"] for r in data["results"]] == expected
    assert data["summary"] == {"passed": len(expected), "failed": 0, "errored": 0, "skipped": 0}


def test_junit_format_to_a_file(
    reference_direct: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "conformance.xml"
    args = [
        "--target",
        reference_direct.base_url,
        "--select",
        "sse.*",
        "--format",
        "junit",
        "--output",
        str(report),
    ]
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert [c.get("name") for c in suite.iter("testcase")][:2] == [
        "sse.content_type",
        "sse.accept_json",
    ]


def test_exit_1_when_a_must_check_fails(
    broken_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = run_json(["--target", broken_url, "--select", "sse.done,container.*"], capsys)
    assert code == 1
    outcomes = {r["id"]: r["outcome"] for r in data["results"]}
    assert outcomes["container.empty_model"] == "failed"
    assert outcomes["sse.done"] == "skipped"  # blocked: the default stream is refused


def test_model_flag_is_sent(broken_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(
        [
            "--target",
            broken_url,
            "--model",
            "my-model",
            "--select",
            "sse.done,container.empty_model,chat.schema",
        ],
        capsys,
    )
    outcomes = {r["id"]: r["outcome"] for r in data["results"]}
    assert outcomes == {
        "container.empty_model": "failed",
        "chat.schema": "passed",
        "sse.done": "failed",
    }
    assert code == 1


def test_text_format_shows_the_bytes_that_broke_it(
    broken_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # sse.done is in the spec layer (every client in the matrix copes without [DONE]): it
    # fails the run only under --strict, and shows its evidence either way.
    assert main(["--target", broken_url, "--model", "m", "--select", "sse.done"]) == 0
    assert "FAILED sse.done (SHOULD (spec))" in capsys.readouterr().out
    assert main(["--target", broken_url, "--model", "m", "--select", "sse.done", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "FAILED sse.done (SHOULD (spec)): the stream ended without 'data: [DONE]'" in out
    assert "sent:     POST " + broken_url + "/v1/chat/completions" in out
    assert '"stream":true' in out and "finish_reason" in out
    assert "how to fix: after the last chunk" in out and "(see docs/kit/checks.md#sse-done)" in out


def test_mock_mode_puts_the_emulator_in_front(
    reference_direct: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = run_json(
        [
            "--target",
            reference_direct.base_url,
            "--mode",
            "mock",
            "--select",
            "container.*,errors.mid_stream",
        ],
        capsys,
    )
    assert code == 0 and data["mode"] == "mock"
    skipped = {r["id"]: r["message"] for r in data["results"] if r["outcome"] == "skipped"}
    assert list(skipped) == ["errors.mid_stream"]  # fault injection needs --target reference


def test_severity_filter(reference_direct: Target, capsys: pytest.CaptureFixture[str]) -> None:
    _, data = run_json(
        ["--target", reference_direct.base_url, "--severity", "must", "--select", "chat.*"], capsys
    )
    assert {r["severity"] for r in data["results"]} == {"MUST"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "invalid choice"),
        (["--target", "http://127.0.0.1:9"], "cannot reach http://127.0.0.1:9"),
        (["--target", "localhost:8080"], "must start with http://"),
        (["--target", "http://[::1"], "invalid target URL 'http://[::1'"),
        (["--target", "http://exämple.com"], "the host is not ASCII"),
        (["--target", "http://a b:8080"], "characters a host name cannot have"),
        (["--target", "http://127.0.0.1:99999"], "Port out of range"),
        (["--target", "http://127.0.0.1:8080?x=1"], "no query or fragment"),
        # An empty query or fragment, which urlsplit drops: the kit would post to "/".
        (["--target", "http://127.0.0.1:8080/?"], "no query or fragment: remove the '?'"),
        # A password in the URL would reach every report; the refusal does not repeat it.
        (["--target", "http://u:s3cret@127.0.0.1:8080"], "remove the 'user:password@' part"),
        (["--target", "http://127.0.0.1:8080#"], "no query or fragment: remove the '?' or '#'"),
        (["--target", "http://127.0.0.1:8080/v1?#"], "no query or fragment"),
        (
            ["--endpoint", "ep", "--region", "us-east-1", "--runtime-url", "https://vpce.x/?"],
            "invalid runtime URL 'https://vpce.x/?'",
        ),
        (["--select", "nothing.*"], "no check matches"),
        (["--mode", "live"], "invalid choice"),
        (["--budget", "0"], "must be a positive number of seconds"),
        (["--request-timeout", "soon"], "is not a number of seconds"),
        (["--inference-component", "ic"], "need --endpoint (live mode)"),
        # Checked before anything is sent: nothing listens on port 9, and it is not reported.
        (["--target", "http://127.0.0.1:9", "--output", "/no/such/dir/r.json"], "does not exist"),
        (["--endpoint", "a/../../..", "--region", "us-east-1"], "invalid endpoint name"),
        (
            ["--endpoint", "ep", "--inference-component", "a/../../..", "--region", "us-east-1"],
            "invalid inference component name",
        ),
        (["--endpoint=-ep", "--region", "us-east-1"], "invalid endpoint name '-ep'"),
    ],
)
def test_exit_2_on_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and "s3cret" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sagemaker-openai-conformance: error: ")


def test_an_output_path_that_is_a_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--output", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_the_json_report_carries_version_time_limits_and_exit_code(
    reference_direct: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--target", reference_direct.base_url, "--select", "chat.*", "--budget", "90"]
    code, data = run_json([*args, "--request-timeout", "7"], capsys)
    assert data["kit_version"] == conformance.__version__
    started = datetime.fromisoformat(data["started_at"])
    assert started.tzinfo is not None and abs(datetime.now(timezone.utc) - started).seconds < 600
    assert 0 < data["duration"] < 90
    assert (data["budget"], data["request_timeout"]) == (90, 7)
    assert data["exit_code"] == code == 0 and data["stopped"] is None
    assert data["requests"] >= 5


def test_a_run_over_budget_says_so_and_exits_3(
    reference_direct: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    # A budget smaller than the interpreter's own start-up: nothing gets to run.
    code = main(["--target", reference_direct.base_url, "--budget", "0.01", "--format", "json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert code == 3 == data["exit_code"]
    assert data["stopped"]["reason"] == "budget"
    assert all(
        r["message"].startswith("not run: the 0.01 s budget ran out") for r in data["results"]
    )
    assert "stopped early: the 0.01 s budget ran out" in captured.err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--inference-component" in capsys.readouterr().out


def test_list_and_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--list", "--select", "sse.*"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    listed = [line.split()[:2] for line in lines]
    assert listed == [[c.id, c.severity.value] for c in select_checks(select="sse.*")]
