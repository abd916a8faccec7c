"""The pytest plugin: inert by default; with --conformance-target, one test item per check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance._engine._local import KIT_REFERENCE
from conformance._reference import ReferenceConfig, create_reference_app
from conformance._wire._serve import serve_app
from conformance._wire._target import Target
from conformance.checks import select_checks

PLUGIN = ("-p", "no:sagemaker_openai_conformance", "-p", "conformance.plugin")


@pytest.fixture(scope="module")
def no_done_url() -> Iterator[str]:
    config = ReferenceConfig(**KIT_REFERENCE, faults=frozenset({"no_done"}))
    with serve_app(create_reference_app(config)) as url:
        yield url


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty project (its ini only silences pytest-asyncio's default-scope warning)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


@pytest.fixture
def one_test(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile("def test_own(): assert True\n")
    return project


def test_inert_without_the_option(one_test: pytest.Pytester) -> None:
    result = one_test.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*container.*")


def test_the_installed_entry_point_is_inert_too(one_test: pytest.Pytester) -> None:
    result = one_test.runpytest("-v")  # loaded through pytest11, as in a user's project
    result.assert_outcomes(passed=1)
    result = one_test.runpytest("--help")
    result.stdout.fnmatch_lines(["*--conformance-target=URL*", "*--conformance-severity*"])


def test_one_item_per_check(one_test: pytest.Pytester, reference_direct: Target) -> None:
    result = one_test.runpytest(
        *PLUGIN,
        "-v",
        "--conformance-target",
        reference_direct.base_url,
        "--conformance-select",
        "chat.*",
    )
    chat = [c.id for c in select_checks(select="chat.*", mode="direct")]  # the registry's
    result.assert_outcomes(passed=len(chat) + 1)  # one item per check, and the project's own test
    result.stdout.fnmatch_lines([f"{check_id} PASSED*" for check_id in chat])


def test_collect_only_lists_check_ids(one_test: pytest.Pytester, reference_direct: Target) -> None:
    result = one_test.runpytest(
        *PLUGIN,
        "--co",
        "-q",
        "--conformance-target",
        reference_direct.base_url,
        "--conformance-severity",
        "MUST",
    )
    lines = [line for line in result.stdout.lines if line.startswith(("container.", "sse."))]
    must = [c.id for c in select_checks(severity="MUST", mode="direct")]
    assert lines == [i for i in must if i.startswith(("container.", "sse."))]
    assert "container.ping" in lines and "sse.stream_ends" in lines
    assert "sse.incremental" not in lines and "sse.done" not in lines  # SHOULD
    assert "errors.mid_stream" not in result.stdout.str()  # mock mode only


def test_a_failing_check_shows_its_evidence(project: pytest.Pytester, no_done_url: str) -> None:
    result = project.runpytest(
        *PLUGIN,
        "--conformance-target",
        no_done_url,
        "--conformance-select",
        "sse.done",
        "--conformance-select",
        "chunk.stable_id",
        "--conformance-model",
        "m",
        "--conformance-strict",  # sse.done is in the spec layer: it fails only when asked to
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*failed (SHOULD*): the stream ended without 'data: ?DONE?'*",
        "how to fix: after the last chunk * (see docs/kit/checks.md#sse-done)",
        "*sent:     POST http://127.0.0.1:*/v1/chat/completions",
        "FAILED sse.done*",
    ])  # fmt: skip


def test_keyword_selection_and_mock_mode(one_test: pytest.Pytester) -> None:
    result = one_test.runpytest(
        *PLUGIN, "-v", "--conformance-target", "reference", "-k", "mid_stream or tools"
    )
    picked = [c.id for c in select_checks(mode="mock") if "mid_stream" in c.id or "tools" in c.id]
    result.assert_outcomes(passed=len(picked))  # -k picks by item name, which is the check's id
    result.stdout.fnmatch_lines(["errors.mid_stream PASSED*"])


def test_a_budget_skips_what_it_leaves_out(
    one_test: pytest.Pytester, reference_direct: Target
) -> None:
    result = one_test.runpytest(
        *PLUGIN,
        "-v",
        "--conformance-target",
        reference_direct.base_url,
        "--conformance-select",
        "chat.*",
        "--conformance-budget",
        "0.001",
        "-rs",
    )
    chat = select_checks(select="chat.*", mode="direct")
    result.assert_outcomes(passed=1, skipped=len(chat))  # the project's own test, then no check
    result.stdout.fnmatch_lines(["*not run: the 0.001 s budget ran out*"])
