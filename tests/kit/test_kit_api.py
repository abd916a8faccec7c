"""The kit's public names, and a plugin import that stays light (it loads in every pytest run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import conformance

PUBLIC = {
    "Check", "CheckContext", "CheckFailure", "EmulatorConfig", "Outcome", "ReferenceConfig",
    "Report", "Severity", "Target", "TestCredentials", "__version__", "check",
    "create_emulator_app", "create_reference_app", "run", "run_emulator", "serve_app",
}  # fmt: skip


def test_all_is_exact_and_every_name_resolves() -> None:
    assert set(conformance.__all__) == PUBLIC
    for name in conformance.__all__:
        assert getattr(conformance, name) is not None
    assert set(dir(conformance)) >= PUBLIC
    assert conformance.run.__module__ == "conformance._runner"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        conformance.nope  # noqa: B018


def test_importing_the_plugin_loads_no_http_stack() -> None:
    code = (
        "import sys, conformance.plugin\n"
        "heavy = sorted(m for m in ('httpx', 'starlette', 'uvicorn', 'botocore', 'litellm') "
        "if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
