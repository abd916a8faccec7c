"""Conformance kit for containers behind SageMaker AI's OpenAI-compatible route."""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._context import CheckContext
    from ._emulator import EmulatorConfig, TestCredentials, create_emulator_app
    from ._emulator._harness import run_emulator
    from ._reference import ReferenceConfig, create_reference_app
    from ._registry import Check, CheckFailure, Outcome, Severity, check
    from ._runner import Report, run
    from ._serve import serve_app
    from ._target import Target

try:
    __version__ = version("litellm-sagemaker-openai")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

# pytest imports conformance.plugin (and so this package) in every run of every project that
# has the distribution installed. Resolving names on first use keeps that import free of
# httpx, starlette and uvicorn until someone actually uses the kit.
_EXPORTS = {
    "Check": "._registry",
    "CheckContext": "._context",
    "CheckFailure": "._registry",
    "EmulatorConfig": "._emulator",
    "Outcome": "._registry",
    "ReferenceConfig": "._reference",
    "Report": "._runner",
    "Severity": "._registry",
    "Target": "._target",
    "TestCredentials": "._emulator",
    "check": "._registry",
    "create_emulator_app": "._emulator",
    "create_reference_app": "._reference",
    "run": "._runner",
    "run_emulator": "._emulator._harness",
    "serve_app": "._serve",
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
