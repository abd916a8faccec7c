"""Rewrite the generated block of docs/kit/engines.md from tests/captures/*/manifest.json."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from captures.captures_support import capture_folders, load_manifest
from captures.table_support import DOCS_PAGE, published_table, render_table


def main() -> None:
    table = render_table([load_manifest(folder) for folder in capture_folders()])
    text = DOCS_PAGE.read_text(encoding="utf-8")
    DOCS_PAGE.write_text(text.replace(published_table(), table), encoding="utf-8")
    print(f"updated {DOCS_PAGE}")


if __name__ == "__main__":
    main()
