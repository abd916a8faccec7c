"""No false verdicts: correct-but-unusual containers pass, and one fault fails one check.

Covers the cases where a naive check would blame a correct container: a fast generation
(not buffered), a short answer (no cap to judge), a broken prerequisite (its dependents are
blocked, not failed), and the standalone reference container run with its defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kit.hostile import serve
from kit.kit_support import Mutator
from kit.test_mutations import edit_chunks, edit_json, is_stream, nonstream, sent, when

import conformance
from conformance._engine._context import CheckContext
from conformance._engine._local import reference_target
from conformance._engine._registry import Outcome
from conformance._engine._runner import Report, run_checks
from conformance._wire._target import Target
from conformance.checks import select_checks

CHECKS = {c.id: c for c in select_checks()}


def run_with(target: Target, ids: list[str], mutate: Any = None) -> dict[str, tuple[Outcome, str]]:
    client = httpx.Client(transport=Mutator(mutate or (lambda req, up: up)), timeout=30)
    ctx = CheckContext(target, client=client)
    try:
        report = run_checks([CHECKS[i] for i in ids], ctx)
    finally:
        client.close()
    return {r.id: (r.outcome, r.message) for r in report.results}


def _short_answer(data: dict[str, Any]) -> None:
    data["choices"][0]["message"]["content"] = "OK"
    data["choices"][0]["finish_reason"] = "stop"
    data["usage"] = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}


def _ignores_cap(data: dict[str, Any]) -> None:
    data["choices"][0]["finish_reason"] = "stop"


def test_a_cap_is_not_judged_on_an_answer_that_fits_under_it(reference_direct: Target) -> None:
    verdicts = run_with(
        reference_direct, ["chat.max_tokens"], when(nonstream, edit_json(_short_answer))
    )
    outcome, message = verdicts["chat.max_tokens"]
    assert outcome is Outcome.SKIPPED
    assert message.startswith("inconclusive: without a cap the whole answer fits in 5 tokens")


def test_a_cap_ignored_on_a_long_answer_still_fails(reference_direct: Target) -> None:
    capped = when(lambda r: sent(r).get("max_completion_tokens") == 5, edit_json(_ignores_cap))
    outcome, message = run_with(reference_direct, ["chat.max_tokens"], capped)["chat.max_tokens"]
    assert outcome is Outcome.FAILED
    assert "on an answer longer than 5 tokens gave finish_reason 'stop'" in message


def dependents(prerequisite: str) -> list[str]:
    """The checks that declare ``after=prerequisite``, in the runner's order."""
    return [c.id for c in select_checks() if prerequisite in c.after]


CHAT_DEPENDENTS = dependents("chat.schema")


def test_a_broken_completion_schema_blocks_what_builds_on_it(reference_direct: Target) -> None:
    assert len(CHAT_DEPENDENTS) > 3
    ids = ["container.ignores_sagemaker_headers", "chat.schema", "chat.usage", *CHAT_DEPENDENTS]
    ids = [c.id for c in select_checks() if c.id in ids]  # the runner's order
    verdicts = run_with(
        reference_direct, ids, when(nonstream, edit_json(lambda d: d.update(created="1")))
    )
    assert verdicts["chat.schema"][0] is Outcome.FAILED
    assert "'created' must be an integer" in verdicts["chat.schema"][1]
    for check_id in CHAT_DEPENDENTS:
        outcome, message = verdicts[check_id]
        assert outcome is Outcome.SKIPPED, check_id
        assert message.startswith("blocked: chat.schema failed"), message
    # Neither is about the schema: usage is still read, and the headers changed nothing.
    assert verdicts["chat.usage"][0] is Outcome.PASSED
    assert verdicts["container.ignores_sagemaker_headers"][0] is Outcome.PASSED


def test_a_broken_chunk_schema_blocks_what_builds_on_it(reference_direct: Target) -> None:
    ids = ["chunk.schema", *dependents("chunk.schema")]
    assert len(ids) > 3  # the blocked logic is exercised on several checks
    verdicts = run_with(
        reference_direct, ids, when(is_stream, edit_chunks(lambda c: {**c, "created": "1"}))
    )
    assert verdicts["chunk.schema"][0] is Outcome.FAILED
    for check_id in ids[1:]:
        assert verdicts[check_id][1].startswith("blocked: chunk.schema failed"), check_id


@pytest.mark.parametrize(
    "config",
    [{"ttft_ms": 0.0, "itl_ms": 0.0}, {"ttft_ms": 150.0, "itl_ms": 0.0}],
    ids=["instant", "slow_prefill_instant_decode"],
)
def test_a_fast_generation_is_inconclusive_never_buffered(config: dict[str, float]) -> None:
    with reference_target("direct", **config) as target:
        outcome, message = run_with(target, ["sse.incremental"])["sse.incremental"]
    assert outcome is Outcome.SKIPPED
    assert message.startswith("inconclusive: 67 events arrived within")
    assert "no sign that events were held back" in message


def test_held_back_events_are_buffered_with_the_evidence() -> None:
    with reference_target("direct", ("buffered",)) as target:
        outcome, message = run_with(target, ["sse.incremental"])["sse.incremental"]
    assert outcome is Outcome.FAILED
    assert message.startswith("buffered: a 1-token answer's first event came after")
    assert "(twice): events are held back until the end" in message


@pytest.fixture(scope="module")
def standalone_reference() -> Iterator[str]:
    """`sagemaker-openai-reference` as a user starts it: its own process, every default."""
    with serve([sys.executable, "-m", "conformance._reference.cli", "--port", "0"]) as url:
        yield url


def test_the_standalone_reference_with_defaults_passes_directly(standalone_reference: str) -> None:
    report: Report = conformance.run(standalone_reference, mode="direct")
    problems = {
        r.id: r.message for r in report.results if r.outcome in (Outcome.FAILED, Outcome.ERRORED)
    }
    assert problems == {}
    # Its generation is instant: timing checks may only be inconclusive, never failed.
    others = {r.id: r.message for r in report.results if r.outcome is not Outcome.PASSED}
    assert all(m.startswith("inconclusive:") for m in others.values()), others
    assert set(others) <= {"sse.incremental", "container.ping_busy"}
    assert report.exit_code == 0 and report.stopped is None
