"""The client matrix's environments, installed by `make clients` into the repository's .clients/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance._clients import ENVIRONMENTS, installed

# Read before the suite's autouse fixture empties the variable: a worktree without its own
# .clients/ runs these tests on another checkout's cache this way.
CACHE = Path(
    os.environ.get("SAGEMAKER_OPENAI_CONFORMANCE_CACHE")
    or Path(__file__).resolve().parents[2] / ".clients"
)


@pytest.fixture
def clients_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The cache `make clients` fills; the Python clients must be there (Node is optional)."""
    monkeypatch.setenv("SAGEMAKER_OPENAI_CONFORMANCE_CACHE", str(CACHE))
    missing = [
        name
        for name in ("python-current", "python-previous")
        if not installed(ENVIRONMENTS[name], CACHE)
    ]
    if missing:
        pytest.skip(f"client environments {missing} are not installed: run `make clients`")
    yield CACHE
