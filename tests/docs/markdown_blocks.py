"""Fenced code blocks of the project's Markdown, and the marker that says a block is not run.

Every fenced ``python`` and ``yaml`` block in README.md, CONTRIBUTING.md, CHANGELOG.md and
docs/ is executed by tests/docs, unless it is marked not runnable with a reason that readers
see. Two forms of the marker are accepted:

* a first line inside the block: ``# not runnable: needs a real AWS account`` (shown
  wherever the Markdown is read, GitHub included);
* an HTML comment on the line before the fence: ``<!-- not-runnable: needs Docker -->``. The
  docs site shows its reason as a note (tests/docs/mkdocs_hooks.py); GitHub hides it.

This module imports nothing outside the standard library: the MkDocs hook loads it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
TOP_LEVEL_PAGES: Final = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")
PYTHON: Final = frozenset({"python", "py", "python3"})
YAML: Final = frozenset({"yaml", "yml"})

FENCE: Final = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
HTML_MARKER: Final = re.compile(r"^[ \t]*<!--[ \t]*not-runnable:(?P<reason>.*?)-->[ \t]*$")
INLINE_MARKER: Final = re.compile(r"^#[ \t]*not[ -]runnable:(?P<reason>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code, and why it is not run (if so)."""

    path: Path
    line: int  # 1-based line number of the block's first code line
    lang: str
    code: str
    not_runnable: str | None  # the reason; "" means a marker without a reason

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.not_runnable is None


def doc_pages(root: Path = ROOT) -> list[Path]:
    """README, CONTRIBUTING and CHANGELOG, then every page under docs/, sorted."""
    pages = [root / name for name in TOP_LEVEL_PAGES if (root / name).exists()]
    return pages + sorted((root / "docs").rglob("*.md"))


def blocks(path: Path) -> Iterator[Block]:
    """The fenced blocks of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        lang = (opening["info"].split() or [""])[0].lower()
        end = index + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        body = [_dedent(line, indent) for line in lines[index + 1 : end]]
        reason = _html_marker(lines, index)
        if reason is None and body and (inline := INLINE_MARKER.match(body[0].strip())):
            reason = inline["reason"].strip()
        yield Block(path, index + 2, lang, "\n".join(body) + "\n", reason)
        index = end + 1


def marker_reason(line: str) -> str | None:
    """The reason of an HTML not-runnable marker line, or None if the line is not one."""
    match = HTML_MARKER.match(line)
    return match["reason"].strip() if match else None


def _html_marker(lines: list[str], fence_index: int) -> str | None:
    # The marker sits on the nearest non-blank line above the fence.
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    return marker_reason(lines[previous]) if previous >= 0 else None


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {fence[0]}


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")
