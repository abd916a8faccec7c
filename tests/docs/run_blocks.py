"""Run one page's Python blocks in order, in one namespace, as a reader would paste them.

Usage: ``python run_blocks.py < blocks.json`` with ``[{"path", "line", "code"}, ...]``.
Each block is compiled under its Markdown file name with its line offset, so a traceback
points at the page and line of the failing sample. Exits 1 on the first failure.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any


def main() -> int:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in json.load(sys.stdin):
        where = f"{block['path']}:{block['line']}"
        print(f"--- {where}", file=sys.stderr, flush=True)
        source = "\n" * (block["line"] - 1) + block["code"]
        try:
            exec(compile(source, block["path"], "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            print(f"FAILED: the sample at {where}", file=sys.stderr, flush=True)
            return 1
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
