"""ReferenceConfig validation, the FAULTS table and the package's import hygiene."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance._reference import FAULTS, ReferenceConfig, create_reference_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "local-testing" / "reference.md"


def _documented_faults() -> set[str]:
    text = DOCS.read_text()
    table = text[text.index("| Fault | Deviation |") :].split("\n\n")[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.M))


def test_fault_names_are_exactly_the_documented_switches() -> None:
    assert set(FAULTS) == _documented_faults(), f"{DOCS.name}'s fault table and FAULTS differ"
    assert all(isinstance(text, str) and text and "\n" not in text for text in FAULTS.values())


def test_faults_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        FAULTS["extra"] = "nope"  # type: ignore[index]


def test_defaults() -> None:
    config = ReferenceConfig()
    assert (config.ttft_ms, config.itl_ms) == (0.0, 0.0)
    assert config.context_limit == 8192
    assert config.max_output_tokens == 256
    assert config.faults == frozenset()
    assert config.model_name == "reference-model"
    assert config.reasoning is False


def test_unknown_fault_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown fault") as info:
        ReferenceConfig(faults=frozenset({"no_done", "bogus"}))
    assert "bogus" in str(info.value)
    assert all(name in str(info.value) for name in FAULTS)


def test_faults_accept_any_iterable_and_a_single_name() -> None:
    assert ReferenceConfig(faults={"no_done"}).faults == frozenset({"no_done"})  # type: ignore[arg-type]
    assert ReferenceConfig(faults="no_done").faults == frozenset({"no_done"})  # type: ignore[arg-type]
    assert ReferenceConfig(faults=frozenset({"no_done"})).has("no_done")
    assert not ReferenceConfig().has("no_done")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttft_ms": -1.0},
        {"itl_ms": float("nan")},
        {"itl_ms": float("inf")},
        {"context_limit": 0},
        {"max_output_tokens": 0},
        {"mid_stream_error_after": -1},
    ],
)
def test_invalid_numbers_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ReferenceConfig(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        ReferenceConfig().itl_ms = 5.0  # type: ignore[misc]


def test_create_reference_app_without_config_uses_defaults() -> None:
    assert create_reference_app() is not create_reference_app()


def test_reference_and_serve_do_not_import_litellm() -> None:
    code = (
        "import sys; import conformance._reference, conformance._reference.cli, conformance._wire._serve;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
