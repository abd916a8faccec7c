"""The README stays short and its links resolve; samples use only the public API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from docs.markdown_blocks import PYTHON, ROOT, TOP_LEVEL_PAGES, blocks, doc_pages

CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)")
PRIVATE = re.compile(r"\b(?:conformance|litellm_sagemaker_openai)(?:\.\w+)*\._\w+")


def test_readme_is_short_and_keeps_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.count("\n")
    assert lines <= 210, f"README.md has {lines} lines; move detail into docs/ (issue: ~200)"
    assert "make demo" in readme and "make test" in readme


@pytest.mark.parametrize("name", TOP_LEVEL_PAGES)
def test_relative_links_of_top_level_pages_resolve(name: str) -> None:
    # mkdocs build --strict checks docs/; GitHub renders these files from the repository root.
    page = ROOT / name
    missing = [
        target
        for target in LINK.findall(CODE_SPAN.sub("", page.read_text(encoding="utf-8")))
        if not (page.parent / target).exists()
    ]
    assert not missing, f"{name} links to files that do not exist: {missing}"


def test_samples_use_only_the_public_api() -> None:
    private = [
        f"{block.where}: {match}"
        for page in doc_pages()
        for block in blocks(page)
        if block.lang in PYTHON
        for match in PRIVATE.findall(block.code)
    ]
    assert not private, "samples import private modules; make the name public first:\n" + "\n".join(
        private
    )


# A list item directly under a line of text is that paragraph's text to Python-Markdown (the
# docs site), though GitHub shows a list: a blank line must come first.
LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+\S")
FENCE_LINE = re.compile(r"^\s*(?:`{3,}|~{3,})")


def _inline_lists(text: str) -> list[int]:
    found, fenced, in_list, previous = [], False, False, ""
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE_LINE.match(line):
            fenced = not fenced
        elif not fenced:
            if LIST_ITEM.match(line):
                if (
                    previous.strip()
                    and not in_list
                    and not previous.startswith(("#", "|", "<", ">"))
                ):
                    found.append(number)
                in_list = True
            elif not line.strip():
                pass
            elif not line.startswith((" ", "\t")) and not previous.strip():
                in_list = False  # a paragraph after a blank line ends the list
        previous = line
    return found


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_list_starts_after_a_blank_line(page: Any) -> None:
    lines = _inline_lists(page.read_text(encoding="utf-8"))
    assert not lines, (
        f"{page.name}: a list runs into the text above it at lines {lines}; add a blank line"
    )


def test_the_inline_list_check_can_fail() -> None:
    assert _inline_lists("Machine:\n- 2 cores\n- Linux\n") == [2]
    assert _inline_lists("Machine:\n\n- 2 cores\n  wrapped\n- Linux\nlazy\n- more\n") == []


def test_the_readmes_mock_mode_claim_holds() -> None:
    """README: mock mode calls /ping and /invocations directly, and skips only live checks."""
    from conformance.checks import select_checks

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Mock mode calls the container through the emulated route, and its `/ping`" in readme
    mock = {c.id for c in select_checks(mode="mock")}
    assert {"container.ping", "container.invocations"} <= mock
    skipped = [c for c in select_checks() if c.id not in mock]
    assert skipped and all(c.modes == ("live",) for c in skipped), [c.id for c in skipped]


def test_install_claims_match_pyproject() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "no boto3" not in readme  # LiteLLM depends on boto3 (tests/provider/test_newcomer.py)
    # The kit's pytest plugin needs pytest: the `pytest` extra brings it with the kit.
    extra = re.search(r"^pytest = \[(.*)\]$", pyproject, re.MULTILINE)
    assert (
        extra and '"pytest>=8"' in extra[1] and "litellm-sagemaker-openai[conformance]" in extra[1]
    )
    assert "| `pytest` |" in readme
    # `.venv/bin/mkdocs serve` is said of the venv `make venv` builds, which has the docs group.
    assert "`.venv/bin/mkdocs serve`" in readme and "--group dev" in makefile
    dev = re.search(r"^dev = \[(.*?)^\]", pyproject, re.MULTILINE | re.DOTALL)
    assert dev and '{include-group = "docs"}' in dev[1]
    assert re.search(r'^docs = \["mkdocs[^"]*", "mkdocs-material', pyproject, re.MULTILINE)
    # The proxy command binds loopback, and says what it does without --host.
    assert "litellm --config config.yaml --host 127.0.0.1 --port 4000 &" in readme
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in readme


def test_the_home_page_shows_the_request_path() -> None:
    import xml.etree.ElementTree as ET

    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "](img/request_path.svg)" in index
    svg = ET.parse(ROOT / "docs" / "img" / "request_path.svg").getroot()
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for part in ("Your application", "LiteLLM", "litellm_sagemaker_openai", "OpenAI-compatible route",
                 "Your container", "sagemaker-openai-emulator", "SAGEMAKER_OPENAI_API_BASE"):  # fmt: skip
        assert part in text, part
    assert svg.find("{http://www.w3.org/2000/svg}title") is not None
