"""The README stays short and its links resolve; samples use only the public API."""

from __future__ import annotations

import re

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
