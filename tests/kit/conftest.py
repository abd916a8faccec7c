"""Fixtures for the conformance kit's tests: the reference container, served once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance._engine._local import reference_target
from conformance._wire._target import Target


@pytest.fixture(scope="session")
def reference_direct() -> Iterator[Target]:
    """The built-in reference container on loopback, talked to directly."""
    with reference_target("direct") as target:
        yield target


@pytest.fixture(scope="session")
def reference_mock() -> Iterator[Target]:
    """The built-in reference container behind the emulator (real route shape and tokens)."""
    with reference_target("mock") as target:
        yield target
