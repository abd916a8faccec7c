"""Conformance kit for containers behind SageMaker AI's OpenAI-compatible route."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._doors._library import run
    from ._emulator import EmulatorConfig, TestCredentials, create_emulator_app
    from ._emulator._harness import run_emulator
    from ._engine._context import CheckContext
    from ._engine._registry import Check, Outcome, Severity, check
    from ._engine._report import Report
    from ._reference import ReferenceConfig, create_reference_app
    from ._wire._exchange import CheckFailure
    from ._wire._serve import serve_app
    from ._wire._target import Target

# pytest imports conformance.plugin (and so this package) in every run of every project that
# has the distribution installed. Resolving names on first use keeps that import free of
# httpx, starlette and uvicorn until someone actually uses the kit.
_EXPORTS = {
    "Check": "._engine._registry",
    "CheckContext": "._engine._context",
    "CheckFailure": "._wire._exchange",
    "EmulatorConfig": "._emulator",
    "Outcome": "._engine._registry",
    "ReferenceConfig": "._reference",
    "Report": "._engine._report",
    "Severity": "._engine._registry",
    "Target": "._wire._target",
    "TestCredentials": "._emulator",
    "check": "._engine._registry",
    "create_emulator_app": "._emulator",
    "create_reference_app": "._reference",
    "run": "._doors._library",
    "run_emulator": "._emulator._harness",
    "serve_app": "._wire._serve",
}

__all__ = [
    "Check",
    "CheckContext",
    "CheckFailure",
    "EmulatorConfig",
    "Outcome",
    "ReferenceConfig",
    "Report",
    "Severity",
    "Target",
    "TestCredentials",
    "__version__",
    "check",
    "create_emulator_app",
    "create_reference_app",
    "run",
    "run_emulator",
    "serve_app",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
