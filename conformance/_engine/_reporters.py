"""Reporters: progress lines, and the final report as a text table, JSON, JUnit XML or HTML.

Each writes through the escaping function of its kind (``_escape``): a report quotes what
containers send.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any, Final, Protocol, TextIO

from ._escape import for_json, for_terminal, for_xml
from ._matrix import ClientResult, Readiness
from ._registry import Check, Outcome, Severity
from ._report import Report, Result

FORMATS: Final = ("text", "json", "junit", "html")
_REASON_WIDTH: Final = 72
_LABELS: Final = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "FAILED",
    Outcome.ERRORED: "ERRORED",
    Outcome.SKIPPED: "skipped",
}


class Reporter(Protocol):
    """Writes a finished Report to a text stream."""

    def __call__(self, report: Report, out: TextIO) -> None: ...


def progress_line(index: int, total: int, check: Check, result: Result) -> str:
    """One line per finished check, printed while the run goes on."""
    width = len(str(total))
    ms = result.duration * 1000
    return (
        f"[{index:>{width}}/{total}] {_LABELS[result.outcome]:<7} {check.level:<6} "
        f"{check.id} ({ms:.0f} ms)"
    )


def _one_line(text: str, width: int = _REASON_WIDTH) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines() or [""])


def format_evidence(evidence: dict[str, Any] | None) -> str:
    """Evidence as indented text: what was sent, and the bytes that came back."""
    if not evidence:
        return ""
    parts = []
    sent = evidence.get("sent")
    if isinstance(sent, dict):
        parts.append(f"sent:     {sent.get('method', '')} {sent.get('url', '')}".rstrip())
        if sent.get("body"):
            parts.append(_indent(str(sent["body"]), "          "))
    elif sent is not None:
        parts.append(f"sent:     {sent}")
    received = evidence.get("received")
    if isinstance(received, dict):
        status = received.get("status")
        ctype = (received.get("headers") or {}).get("content-type", "")
        head = (
            f"HTTP {status} {ctype}".rstrip() if status is not None else str(received.get("error"))
        )
        parts.append(f"received: {head}")
        if received.get("body"):
            parts.append(_indent(str(received["body"]), "          "))
    elif received is not None:
        parts.append(f"received: {received}")
    return "\n".join(parts)


def how_to_fix(result: Result) -> str:
    """``how to fix: <the check's Fix section> (see <its docs section>)``."""
    fix = result.fix or "see the check's documentation"
    return f"how to fix: {fix} (see {result.docs})" if result.docs else f"how to fix: {fix}"


def write_text(report: Report, out: TextIO) -> None:
    """A table (id, severity, outcome, reason), then each failure with its fix and evidence."""
    text = io.StringIO()
    _write_text(report, text)
    out.write(for_terminal(text.getvalue()))


def _write_text(report: Report, out: TextIO) -> None:
    out.write(f"\nsagemaker-openai-conformance: {report.target} ({report.mode} mode)\n\n")
    width = max([len(r.id) for r in report.results] + [5])
    sev = max([len(r.level) for r in report.results] + [3])
    out.write(f"{'CHECK':<{width}}  {'SEV':<{sev}}  {'OUTCOME':<7}  REASON\n")
    for r in report.results:
        outcome = _LABELS[r.outcome]
        line = f"{r.id:<{width}}  {r.level:<{sev}}  {outcome:<7}  {_one_line(r.message)}"
        out.write(line.rstrip() + "\n")
    problems = [r for r in report.results if r.broken]
    for r in problems:
        out.write(f"\n{_LABELS[r.outcome]} {r.id} ({r.level}): {r.message}\n")
        out.write(f"  {how_to_fix(r)}\n")
        evidence = format_evidence(r.evidence)
        if evidence:
            out.write(_indent(evidence, "  ") + "\n")
    if report.clients:
        _write_matrix(report.clients, out)
    if report.runs > 1:
        out.write(f"\n{flaky_line(report)}\n")
        for f in report.flaky:
            out.write(f"  {f.id}: {f.describe()}\n")
    counts = report.summary
    summary = ", ".join(f"{counts[o.value]} {o.value}" for o in Outcome)
    out.write(f"\n{summary} in {report.duration:.1f} s ({report.requests} requests)\n")
    if report.not_applicable:
        names = ", ".join(report.not_applicable)
        out.write(f"not applicable in {report.mode} mode: {names}\n")
    if report.stopped is not None:
        out.write(f"stopped early: {report.stopped.message}\n")
    out.write(verdict(report) + "\n")


def matrix_line(result: ClientResult) -> str:
    """One line per client: who, which version, the verdict and why."""
    who = f"{result.title} {result.version}".strip()
    why = f": {_one_line(result.message, 100)}" if result.message else ""
    return f"{result.readiness.value:<9}  {who} ({result.runtime}){why}"


def _write_matrix(clients: tuple[ClientResult, ...], out: TextIO) -> None:
    ready = sum(c.ready for c in clients)
    out.write(f"\nclient matrix: {ready} of {len(clients)} clients ready\n")
    for result in clients:
        out.write(matrix_line(result) + "\n")


def flaky_line(report: Report) -> str:
    """``--repeat``: how many verdicts changed over how many runs."""
    if not report.flaky:
        return f"no verdict changed over {report.runs} runs"
    changed = count(len(report.flaky), "verdict")
    return f"flaky: {changed} changed over {report.runs} runs (worst shown)"


def count(n: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def verdict(report: Report) -> str:
    """The last line: the exit code and the checks behind it."""
    code = report.exit_code
    spec = [r.id for r in report.spec_failures]
    if code == 1:
        must = [r.id for r in report.gating if r.severity is Severity.MUST]
        parts = [f"MUST checks failed: {', '.join(must)}"] if must else []
        if report.strict and spec:
            parts.append(f"spec checks failed (--strict): {', '.join(spec)}")
        return "exit 1: " + "; ".join(parts)
    if code == 0:
        line = "exit 0: no MUST check failed"
        if spec:  # only possible without --strict
            line += f" (spec checks failed: {', '.join(spec)}; --strict fails the run on them)"
        return line
    return f"exit {code}: the run stopped before every check ran"


def write_json(report: Report, out: TextIO) -> None:
    """The report as JSON; its fields are listed in docs/kit/running.md."""
    out.write(for_json(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n")


def write_junit(report: Report, out: TextIO) -> None:
    """One testcase per check; failures, errors and skips as JUnit elements."""
    counts = report.summary
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="sagemaker-openai-conformance",
        tests=str(len(report.results)),
        failures=str(counts["failed"]),
        errors=str(counts["errored"]),
        skipped=str(counts["skipped"]),
        time=f"{report.duration:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="target", value=report.target)
    ET.SubElement(props, "property", name="mode", value=report.mode)
    ET.SubElement(props, "property", name="exit_code", value=str(report.exit_code))
    ET.SubElement(props, "property", name="strict", value=str(report.strict).lower())
    if report.stopped is not None:
        ET.SubElement(props, "property", name="stopped", value=report.stopped.message)
    if report.runs > 1:
        ET.SubElement(props, "property", name="runs", value=str(report.runs))
    flips = {f.id: f.describe() for f in report.flaky}
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{r.id.split('.')[0]}",
            name=r.id,
            time=f"{r.duration:.3f}",
        )
        case.set("severity", r.severity.value)
        case.set("layer", r.layer)
        if r.id in flips:
            case.set("flaky", flips[r.id])
        if r.outcome is Outcome.FAILED:
            node = ET.SubElement(case, "failure", message=r.message, type=r.level)
            node.text = how_to_fix(r) + "\n" + format_evidence(r.evidence)
        elif r.outcome is Outcome.ERRORED:
            node = ET.SubElement(case, "error", message=r.message, type="ERRORED")
            node.text = how_to_fix(r)
        elif r.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", message=r.message)
        elif r.message:
            ET.SubElement(case, "system-out").text = r.message
    if report.clients:
        _junit_matrix(suites, report)
    for node in suites.iter():  # every text and attribute, the matrix's included
        node.text = None if node.text is None else for_xml(node.text)
        for name, value in node.attrib.items():
            node.set(name, for_xml(value))
    ET.indent(suites)
    out.write(ET.tostring(suites, encoding="unicode", xml_declaration=True))
    out.write("\n")


def _junit_matrix(suites: ET.Element, report: Report) -> None:
    clients = report.clients
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="sagemaker-openai-conformance.clients",
        tests=str(len(clients)),
        failures=str(sum(c.readiness is Readiness.NOT_READY for c in clients)),
        errors="0",
        skipped=str(sum(c.readiness is Readiness.SKIPPED for c in clients)),
        time=f"{sum(s.seconds for c in clients for s in c.steps):.3f}",
    )
    for result in clients:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="conformance.clients",
            name=result.client,
            time=f"{sum(s.seconds for s in result.steps):.3f}",
        )
        case.set("version", result.version)
        case.set("runtime", result.runtime)
        steps = "\n".join(
            f"{s.name}: {'ok' if s.ok else 'BROKEN'}: {s.detail}" for s in result.steps
        )
        if result.readiness is Readiness.NOT_READY:
            node = ET.SubElement(case, "failure", message=result.message, type="NOT READY")
            node.text = steps
        elif result.readiness is Readiness.SKIPPED:
            ET.SubElement(case, "skipped", message=result.message)
        else:
            ET.SubElement(case, "system-out").text = steps


def write_html(report: Report, out: TextIO) -> None:
    """One self-contained HTML page, with a timeline of each streamed answer (``_html``)."""
    from ._html import write_page  # on use: the page builds on this module's text helpers

    write_page(report, out)


REPORTERS: Final[dict[str, Reporter]] = {
    "text": write_text,
    "json": write_json,
    "junit": write_junit,
    "html": write_html,
}
