"""The checks page is generated from the registry, and failures link to their section."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.checks import select_checks
from conformance.docs import main, render_checks_page

PAGE = Path(__file__).resolve().parents[2] / "docs" / "kit" / "checks.md"


def test_the_page_matches_the_registry() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_checks_page(), (
        "docs/kit/checks.md is out of date: run `python -m conformance.docs`"
    )


def test_one_section_per_check_with_why_and_fix() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for chk in select_checks():
        assert page.count(f'<a id="{chk.anchor}"></a>') == 1, chk.id
        assert f"[`{chk.id}`](#{chk.anchor})" in page
        section = page.split(f'<a id="{chk.anchor}"></a>', 1)[1].split("<a id=", 1)[0]
        assert "**Why it matters.** " in section and "**How to fix a failure.** " in section
        assert chk.fix[1:] in section


def test_check_mode_fails_on_a_stale_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "docs" / "kit" / "checks.md"
    assert main(["--check", str(page)]) == 1
    assert main([str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8").replace("MUST", "SHOULD", 1))
    assert main(["--check", str(page)]) == 1
    assert "is out of date; run: python -m conformance.docs" in capsys.readouterr().err
