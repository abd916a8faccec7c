"""The kit's public names, and a plugin import that stays light (it loads in every pytest run)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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
    assert conformance.run.__module__ == "conformance._doors._library"
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


ROOT = Path(conformance.__file__).parent
# part -> the parts it may import. Arrows run down: doors -> catalogue -> engine -> wire; the
# local servers sit beside the engine, which starts them. `_version` is a leaf anyone may use.
MAY_IMPORT: dict[str, set[str]] = {
    "_doors": {"checks", "_clients", "_engine", "_wire"},
    "checks": {"_engine", "_wire"},
    "_clients": {"_engine", "_wire"},
    "_engine": {"_wire", "_emulator", "_reference"},
    "_emulator": {"_wire", "_reference"},
    "_reference": {"_wire"},
    "_capture": {"_wire"},
    "_wire": set(),
}


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SystemError:
        # CPython 3.11.7 keeps the AST constructor's recursion depth per interpreter, not per
        # thread (gh-106905, fixed in 3.11.8): a thread an earlier test left behind, parsing
        # at the same moment, makes this call fail once. The source is fine: parse it again.
        return ast.parse(source)


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, relative imports resolved (also lazy and type-only ones)."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    for node in ast.walk(_parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, node.module or ""]) if node.level else node.module or ""
            yield module.rstrip(".")
            yield from (f"{module.rstrip('.')}.{alias.name}" for alias in node.names)


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "conformance" and len(parts) > 1 else None


def test_the_parts_import_one_way() -> None:
    back = []
    for path in sorted(ROOT.rglob("*.py")):
        here = path.relative_to(ROOT).parts[0]
        if here not in MAY_IMPORT:
            continue  # the public face and the installed addresses hand names on
        for module in _imports(path):
            there = _part(module)
            if there in MAY_IMPORT and there != here and there not in MAY_IMPORT[here]:
                back.append(f"{path.relative_to(ROOT)} -> {module}")
    assert back == []
    assert set(MAY_IMPORT) == {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def test_the_kit_uses_only_the_providers_public_names() -> None:
    private = [
        f"{path.relative_to(ROOT)} -> {module}"
        for path in sorted(ROOT.rglob("*.py"))
        for module in _imports(path)
        if module.startswith("litellm_sagemaker_openai._")
    ]
    assert private == []
