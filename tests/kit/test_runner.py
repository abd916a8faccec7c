"""The runner: outcomes, selection, the exit code, and each check's declared request bound."""

from __future__ import annotations

import pytest

from conformance._engine._context import CheckContext
from conformance._engine._registry import (
    STAGES,
    Check,
    CheckFailure,
    CheckSkipped,
    Outcome,
    Severity,
    check,
)
from conformance._engine._runner import Report, Result, request_bound, run_check, run_checks
from conformance._wire._target import Target
from conformance.checks import AREAS, select_checks


def fake_registry() -> dict[str, Check]:
    registry: dict[str, Check] = {}

    @check("demo.passes", "MUST", registry=registry)
    def passes(ctx: CheckContext) -> str:
        """Passes with a note."""
        return "all good"

    @check("demo.fails", "SHOULD", registry=registry)
    def fails(ctx: CheckContext) -> None:
        """Fails with evidence."""
        raise CheckFailure("bad bytes", sent={"url": "u"}, received={"body": "data: x"})

    @check("demo.skips", "MUST", registry=registry)
    def skips(ctx: CheckContext) -> None:
        """Skips."""
        raise CheckSkipped("not applicable")

    @check("demo.errors", "INFO", registry=registry)
    def errors(ctx: CheckContext) -> None:
        """Errors."""
        raise RuntimeError("boom")

    @check("demo.live_only", "MUST", modes="live", registry=registry)
    def live_only(ctx: CheckContext) -> None:
        """Live only."""
        raise AssertionError("never runs outside live mode")

    return registry


@pytest.fixture
def ctx() -> CheckContext:
    return CheckContext(Target.direct("http://127.0.0.1:9"))  # nothing listens; nothing is sent


def test_outcomes_messages_and_evidence(ctx: CheckContext) -> None:
    registry = fake_registry()
    report = run_checks(list(registry.values()), ctx)
    got = {r.id: (r.outcome, r.message) for r in report.results}
    assert got == {
        "demo.passes": (Outcome.PASSED, "all good"),
        "demo.fails": (Outcome.FAILED, "bad bytes"),
        "demo.skips": (Outcome.SKIPPED, "not applicable"),
        "demo.errors": (Outcome.ERRORED, "RuntimeError: boom"),
    }
    failed = next(r for r in report.results if r.id == "demo.fails")
    assert failed.evidence == {"sent": {"url": "u"}, "received": {"body": "data: x"}}
    assert report.not_applicable == ("demo.live_only",)
    assert report.summary == {"passed": 1, "failed": 1, "errored": 1, "skipped": 1}
    assert report.exit_code == 0  # the failure is SHOULD, the error INFO, the skip MUST


def test_a_bare_assertion_error_is_errored_not_failed(ctx: CheckContext) -> None:
    registry: dict[str, Check] = {}

    @check("demo.assert", "MUST", registry=registry)
    def asserts(ctx: CheckContext) -> None:
        """Uses assert."""
        raise AssertionError("checks must raise CheckFailure")

    result = run_check(registry["demo.assert"], ctx)
    assert result.outcome is Outcome.ERRORED


def _report(*pairs: tuple[Severity, Outcome]) -> Report:
    results = tuple(Result(f"x.{i}", sev, out) for i, (sev, out) in enumerate(pairs))
    return Report("t", "direct", results)


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ([(Severity.MUST, Outcome.PASSED), (Severity.SHOULD, Outcome.FAILED)], 0),
        ([(Severity.MUST, Outcome.FAILED)], 1),
        ([(Severity.MUST, Outcome.ERRORED)], 1),
        ([(Severity.MUST, Outcome.SKIPPED), (Severity.INFO, Outcome.ERRORED)], 0),
        ([], 0),
    ],
)
def test_exit_code(pairs: list[tuple[Severity, Outcome]], code: int) -> None:
    assert _report(*pairs).exit_code == code


def test_select_by_glob_severity_and_mode() -> None:
    registry = fake_registry()
    ids = lambda **kw: [c.id for c in select_checks(registry=registry, **kw)]  # noqa: E731
    assert ids(select="demo.f*") == ["demo.fails"]
    assert ids(select="demo.passes,demo.skips") == ["demo.passes", "demo.skips"]
    assert ids(select=["*.errors", "nothing.*"]) == ["demo.errors"]
    assert ids(severity="MUST") == ["demo.passes", "demo.skips", "demo.live_only"]
    assert ids(severity="SHOULD", mode="direct") == ["demo.passes", "demo.fails", "demo.skips"]


def test_builtin_order_follows_the_catalogue() -> None:
    checks = select_checks()
    assert [c.stage for c in checks] == sorted((c.stage for c in checks), key=STAGES.index)
    for stage in STAGES:
        areas = [c.area for c in checks if c.stage == stage]
        assert areas == sorted(areas, key=list(AREAS).index)
    assert [c.id for c in checks if c.stage == "probe"] == ["container.alive_after_load"]
    position = {c.id: i for i, c in enumerate(checks)}
    for chk in checks:
        assert all(position[p] < position[chk.id] for p in chk.after), chk.id


@pytest.mark.parametrize("chk", select_checks(mode="direct"), ids=lambda c: c.id)
def test_each_check_stays_within_its_request_bound(chk: Check, reference_direct: Target) -> None:
    ctx = CheckContext(reference_direct)
    try:
        result = run_check(chk, ctx)
    finally:
        ctx.close()
    assert result.outcome is Outcome.PASSED, result.message
    assert ctx.requests_sent <= request_bound([chk])
