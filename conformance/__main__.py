"""``python -m conformance``: the same as ``sagemaker-openai-conformance``."""

from __future__ import annotations

import sys

from ._doors._cli import main

if __name__ == "__main__":
    sys.exit(main())
