"""MkDocs hook: show readers why a code block is not run by the test suite.

``<!-- not-runnable: why -->`` before a fence is invisible in rendered Markdown; on the docs
site it becomes a visible note above the block. The marker itself is defined once, in
tests/docs/markdown_blocks.py, which the tests use to decide what to execute.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Loaded by path, not as a package: make tests/ importable, as pytest does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docs.markdown_blocks import marker_reason


def on_page_markdown(markdown: str, **_: Any) -> str:
    lines = []
    for line in markdown.splitlines():
        reason = marker_reason(line)
        if reason is None:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(f"{indent}*Not run by the test suite: {reason}*")
        lines.append("")
    return "\n".join(lines) + "\n"
