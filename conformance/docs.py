"""``python -m conformance.docs [--check] [PATH]``: the checks page, generated from the registry.

The generator lives in ``conformance._doors._docs``; this is its documented address.
"""

from __future__ import annotations

import sys

from ._doors._docs import main, render_checks_page

__all__ = ["main", "render_checks_page"]

if __name__ == "__main__":
    sys.exit(main())
