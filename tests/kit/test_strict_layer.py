"""The strict layer: checks the specification requires but no client needs (SHOULD, spec).

They show in every report format and on the checks page, and fail a run only with --strict.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from conformance._doors._docs import render_checks_page
from conformance._engine._registry import Check, Outcome, Severity, check
from conformance._engine._reporters import write_json, write_junit, write_text
from conformance._engine._runner import Report, Result

SPEC_FAILED = Result(
    "sse.spec_rule", Severity.SHOULD, Outcome.FAILED, "off-spec, harmless", layer="spec"
)
REPORT = Report(
    target="http://c",
    mode="direct",
    results=(
        Result("sse.done", Severity.MUST, Outcome.PASSED),
        SPEC_FAILED,
        Result("chunk.n", Severity.SHOULD, Outcome.FAILED, "n ignored"),
    ),
)


def _render(report: Report, writer: object) -> str:
    out = io.StringIO()
    writer(report, out)  # type: ignore[operator]
    return out.getvalue()


def test_a_spec_check_is_a_should() -> None:
    with pytest.raises(ValueError, match="spec layer is a SHOULD"):
        check("a.b", "MUST", layer="spec", registry={})
    with pytest.raises(ValueError, match="layer must be one of"):
        check("a.b", "SHOULD", layer="rumour", registry={})
    registry: dict[str, Check] = {}

    @check("a.b", "SHOULD", layer="spec", registry=registry)
    def rule(ctx: object) -> None:
        """A rule of the spec."""

    assert registry["a.b"].layer == "spec" and registry["a.b"].level == "SHOULD (spec)"


def test_a_failed_spec_check_gates_only_under_strict() -> None:
    assert REPORT.exit_code == 0 and REPORT.gating == []
    strict = replace(REPORT, strict=True)
    assert strict.exit_code == 1 and [r.id for r in strict.gating] == ["sse.spec_rule"]
    # A plain SHOULD never gates, strict or not.
    assert all(r.layer == "spec" for r in strict.gating)


def test_every_format_shows_the_layer_and_strictness() -> None:
    text = _render(REPORT, write_text)
    row = next(line for line in text.splitlines() if line.startswith("sse.spec_rule"))
    assert "SHOULD (spec)" in row and "FAILED" in row
    assert "FAILED sse.spec_rule (SHOULD (spec)): off-spec, harmless" in text
    assert text.rstrip().endswith(
        "exit 0: no MUST check failed (spec checks failed: sse.spec_rule; --strict fails "
        "the run on them)"
    )
    strict_text = _render(replace(REPORT, strict=True), write_text)
    assert strict_text.rstrip().endswith("exit 1: spec checks failed (--strict): sse.spec_rule")
    data = json.loads(_render(REPORT, write_json))
    assert data["strict"] is False and data["exit_code"] == 0
    assert {r["id"]: r["layer"] for r in data["results"]} == {
        "sse.done": "clients",
        "sse.spec_rule": "spec",
        "chunk.n": "clients",
    }
    suite = ET.fromstring(_render(replace(REPORT, strict=True), write_junit))
    case = next(c for c in suite.iter("testcase") if c.get("name") == "sse.spec_rule")
    failure = case.find("failure")
    assert case.get("layer") == "spec" and failure is not None
    assert failure.get("type") == "SHOULD (spec)"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["strict"], props["exit_code"]) == ("true", "1")


def test_the_checks_page_marks_the_strict_layer() -> None:
    registry: dict[str, Check] = {}

    @check("sse.spec_rule", "SHOULD", layer="spec", registry=registry)
    def rule(ctx: object) -> None:
        """A rule of the spec."""

    page = render_checks_page(list(registry.values()))
    assert "| [`sse.spec_rule`](#sse-spec_rule) | SHOULD (spec) | A rule of the spec. |" in page
    assert "**SHOULD (spec)** · modes: direct, mock, live · strict layer: gates only with" in page
    assert "The strict layer: SHOULD (spec)" in page
