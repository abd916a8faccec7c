"""Generate the checks page from the registry: ``python -m conformance.docs [--check] [PATH]``.

One section per registered check, with what it checks, why it matters and how to fix a
failure; every failure in a report links to its section (``docs/kit/checks.md#<anchor>``).
``--check`` exits 1 when the page on disk differs from the registry (CI runs it as a test).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from .._engine._registry import DOCS_PAGE, Check
from ..checks import AREAS, select_checks

_INTRO: Final = """\
<!-- Generated from the check registry by `python -m conformance.docs`; do not edit by hand. -->
# Checks reference

Every check of the conformance kit, in the order a run reports them. A failure in a report
links to its section here: `docs/kit/checks.md#<check id with dots replaced by hyphens>`.

- **Severity, from evidence.** MUST: a client of the client matrix (`--clients`;
  [reports](reports.md)) breaks, or silently loses what the user asked for (the text, a tool
  call, the usage), or the route itself refuses; a test runs that client against a container
  with the fault and shows it, and the check names the clients (a failed MUST makes the run exit
  1). SHOULD: clients only do extra work (retries), and the check names the cost. INFO:
  reported, never gating. - **The strict layer: SHOULD (spec).** What the OpenAI specification
  requires but no client of the matrix needs. A failed spec check is reported in every format,
  and fails the run only with `--strict` (`conformance.run(..., strict=True)`,
  `--conformance-strict`). - **Modes.** `direct`: the kit talks to the container; `mock`:
  through the local emulator of the route; `live`: through a real SageMaker endpoint. -
  **Stage.** Checks that load the target run after all others (`load`), followed by a liveness
  probe (`probe`), so that a busy or broken target cannot distort earlier verdicts. - **Builds
  on.** When one of these checks fails, this check is reported as blocked by it instead of
  failing for the same reason. - **Inconclusive.** Some checks can only judge an answer that is
  long or slow enough; when it is not, they are skipped as `inconclusive`, never failed.

The SSE checks run every stream through two parsers: a strict WHATWG event-stream parser and a
faithful replica of the OpenAI Python SDK's decoder and stream loop. When they disagree the
verdict says so, e.g. `spec-valid, but the OpenAI Python SDK fails on it` for an `event: ping`
keep-alive. How a run is bounded, and what blocked, inconclusive and not-run outcomes mean, is
in [Running the kit](running.md).
"""


def _row(chk: Check) -> str:
    return f"| [`{chk.id}`](#{chk.anchor}) | {chk.level} | {chk.summary} |"


def _section(chk: Check) -> str:
    facts = [f"**{chk.level}**", "modes: " + ", ".join(chk.modes)]
    if chk.layer == "spec":
        facts.append("strict layer: gates only with `--strict`")
    if chk.stage != "main":
        facts.append(f"stage: {chk.stage}")
    if chk.requires:
        facts.append("needs: " + ", ".join(chk.requires))
    if chk.after:
        facts.append(
            "builds on: " + ", ".join(f"[`{p}`](#{p.replace('.', '-')})" for p in chk.after)
        )
    return "\n".join(
        [
            f'<a id="{chk.anchor}"></a>',
            "",
            f"### `{chk.id}`",
            "",
            " · ".join(facts),
            "",
            chk.summary,
            "",
            f"**Why it matters.** {_sentence(chk.why)}",
            "",
            f"**How to fix a failure.** {_sentence(chk.fix)}",
            "",
        ]
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_checks_page(checks: Sequence[Check] | None = None) -> str:
    """The Markdown of the checks page for ``checks`` (default: every built-in check)."""
    checks = list(select_checks() if checks is None else checks)
    parts = [_INTRO, "| Check | Severity | What it checks |", "|---|---|---|"]
    parts += [_row(chk) for chk in checks]
    areas = [a for a in AREAS if any(c.area == a for c in checks)]
    areas += sorted({c.area for c in checks} - set(areas))
    for area in areas:
        parts += ["", f"## {AREAS.get(area, area)}", ""]
        parts += [_section(chk) for chk in checks if chk.area == area]
    return "\n".join(parts).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page (default ``docs/kit/checks.md``), or with ``--check`` compare it."""
    parser = argparse.ArgumentParser(prog="python -m conformance.docs", description=__doc__)
    parser.add_argument("path", nargs="?", default=DOCS_PAGE, help=f"default {DOCS_PAGE}")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page, path = render_checks_page(), Path(args.path)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != page:
            sys.stderr.write(f"{path} is out of date; run: python -m conformance.docs {path}\n")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return 0
