"""The whole client matrix against the reference container, through the CLI's reports."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance._clients import CLIENTS
from conformance._doors._cli import main


@pytest.mark.slow
@pytest.mark.proxy
def test_every_client_is_ready_against_the_reference(
    clients_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    args = ["--select", "container.route", "--clients", "all", "--format", "json"]
    code = main([*args, "--output", str(report)])
    assert code == 0
    data = json.loads(report.read_text())
    rows = {row["client"]: row for row in data["clients"]}
    assert list(rows) == [c.id for c in CLIENTS]
    node = shutil.which("node") is not None and shutil.which("npm") is not None
    for client in CLIENTS:
        row = rows[client.id]
        if client.environment == "node" and not node:
            assert row["readiness"] == "skipped" and "no Node runtime" in row["message"]
            continue
        assert row["readiness"] == "READY", row
        assert [s["step"] for s in row["steps"]] == [
            "answer", "stream", "tool_call", "followup", "usage"
        ]  # fmt: skip
        assert row["version"] not in ("", "?")
    assert "client matrix: 11 clients" in capsys.readouterr().err


def test_a_missing_environment_is_a_visible_skip_in_every_format(tmp_path: Path) -> None:
    # The suite's default cache is empty: every client is skipped, and says how to install.
    out = tmp_path / "report.xml"
    code = main(
        ["--select", "container.route", "--clients", "openai-*,vercel-ai", "--format", "junit",
         "--output", str(out)]
    )  # fmt: skip
    assert code == 0
    suites = ET.fromstring(out.read_text())
    suite = next(s for s in suites if s.get("name") == "sagemaker-openai-conformance.clients")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"openai-python", "openai-python-async", "openai-python-2",
                          "openai-python-2-async", "openai-node", "vercel-ai"}  # fmt: skip
    for case in cases.values():
        skipped = case.find("skipped")
        assert skipped is not None
        message = skipped.get("message") or ""
        assert "sagemaker-openai-conformance --install-clients" in message or "Node" in message


def test_an_unknown_client_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--clients", "gpt-cli"]) == 2
    assert "--clients gpt-cli matches no client" in capsys.readouterr().err
