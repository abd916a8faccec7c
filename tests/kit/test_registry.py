"""The registry: severities, the @check decorator, ids and summaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conformance
from conformance._engine._registry import REGISTRY, Check, Severity, check, parse_sections
from conformance.checks import AREAS, select_checks

# The catalogue (ids, severities, modes, areas) is derived from the registry; the generated
# checks page (docs/kit/checks.md, tests/kit/test_docs.py) is where a change of it shows.


def test_severity_is_ordered_and_parses() -> None:
    assert Severity.INFO < Severity.SHOULD < Severity.MUST
    assert max([Severity.SHOULD, Severity.MUST, Severity.INFO]) is Severity.MUST
    assert Severity.parse("should") is Severity.SHOULD
    with pytest.raises(ValueError, match="MUST, SHOULD or INFO"):
        Severity.parse("CRITICAL")


def test_every_builtin_check_is_in_an_area_and_every_area_has_checks() -> None:
    checks = select_checks()
    assert {c.area for c in checks} == set(AREAS)
    assert all(AREAS.values())  # each has its title on the checks page


def test_the_areas_are_defined_once() -> None:
    """AREAS is the one list: no module or page of the project writes the areas out again."""
    root = Path(conformance.__file__).parents[1]
    written_out = re.compile(r"""["'`]container["'`],\s*["'`]chat["'`],""")
    files = [*(root / "conformance").rglob("*.py"), *(root / "docs").rglob("*.md")]
    files += [root / "CONTRIBUTING.md", root / "README.md"]
    hits = [str(f) for f in files if written_out.search(f.read_text(encoding="utf-8"))]
    assert hits == []


def test_modes_follow_the_issue() -> None:
    checks = {c.id: c for c in select_checks()}
    # Mock mode checks the container's own /ping and /invocations too (issue 19 §4): SageMaker
    # never routes to a container that fails its health check.
    assert checks["container.ping"].modes == ("direct", "mock")
    assert checks["errors.mid_stream"].modes == ("mock",)
    assert all(c.modes == ("live",) for i, c in checks.items() if i.startswith("live."))
    assert checks["tools.stream_deltas"].requires == ("tools",)


def test_summaries_come_from_docstrings() -> None:
    for chk in select_checks():
        assert chk.summary == chk.func.__doc__.strip().splitlines()[0]  # type: ignore[union-attr]
        assert chk.summary and not chk.summary.endswith(":")


def test_decorator_registers_a_frozen_check() -> None:
    registry: dict[str, Check] = {}

    @check("demo.thing", "SHOULD", modes=("direct",), registry=registry)
    def thing(ctx: object) -> None:
        """Does a thing.

        More words that are not the summary.
        """

    chk = registry["demo.thing"]
    assert (chk.id, chk.severity, chk.modes, chk.summary) == (
        "demo.thing",
        Severity.SHOULD,
        ("direct",),
        "Does a thing.",
    )
    assert chk.area == "demo" and chk.func is thing
    with pytest.raises(AttributeError):
        chk.id = "other"  # type: ignore[misc]


def test_duplicate_id_is_refused() -> None:
    registry: dict[str, Check] = {}

    @check("demo.same", "INFO", registry=registry)
    def first(ctx: object) -> None:
        """The first."""

    with pytest.raises(ValueError, match=r"duplicate check id 'demo\.same'"):
        check("demo.same", "INFO", registry=registry)


def test_builtin_ids_cannot_be_registered_twice() -> None:
    select_checks()  # make sure the built-ins are loaded
    with pytest.raises(ValueError, match="duplicate"):
        check("sse.done", "MUST")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "Nodot"}, "lowercase and dotted"),
        ({"id": "a.b", "modes": ("cloud",)}, "modes must be"),
        ({"id": "a.b", "requires": "gpu"}, "requires must be"),
    ],
)
def test_malformed_declarations_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check(severity="MUST", registry={}, **kwargs)  # type: ignore[arg-type]


def test_a_check_needs_a_docstring() -> None:
    def undocumented(ctx: object) -> None:
        pass

    with pytest.raises(ValueError, match="docstring"):
        check("demo.nodoc", "INFO", registry={})(undocumented)  # type: ignore[arg-type]
    assert "demo.nodoc" not in REGISTRY


def test_why_and_fix_come_from_the_docstring() -> None:
    registry: dict[str, Check] = {}

    @check("demo.documented", "MUST", registry=registry)
    def documented(ctx: object) -> None:
        """Summary line.

        Why: clients break
        over two lines.

        Fix: do the right
        thing.
        """

    chk = registry["demo.documented"]
    assert (chk.summary, chk.why, chk.fix) == (
        "Summary line.",
        "clients break over two lines.",
        "do the right thing.",
    )
    assert chk.docs == "docs/kit/checks.md#demo-documented"
    assert parse_sections("Only a summary.") == {}


def test_prerequisites_must_exist_and_not_run_later() -> None:
    registry: dict[str, Check] = {}

    @check("demo.load", "MUST", stage="load", registry=registry)
    def load(ctx: object) -> None:
        """Loads."""

    with pytest.raises(ValueError, match="register its prerequisites"):
        check("demo.x", "MUST", after="demo.missing", registry=registry)
    with pytest.raises(ValueError, match="later stage"):
        check("demo.y", "MUST", after="demo.load", registry=registry)
    with pytest.raises(ValueError, match="stage must be one of"):
        check("demo.z", "MUST", stage="soon", registry=registry)


def test_every_builtin_check_says_why_and_how_to_fix() -> None:
    missing = [c.id for c in select_checks() if not (c.why and c.fix)]
    assert missing == []
