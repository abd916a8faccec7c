"""sse.stream_ends: a response held open after `[DONE]`, then closed, fails it too."""

from __future__ import annotations

from conformance._engine._context import CheckContext
from conformance._engine._local import reference_target
from conformance._engine._registry import Outcome
from conformance._engine._runner import run_check
from conformance.checks import select_checks

STREAM_ENDS = select_checks(select="sse.stream_ends")[0]


def _outcome(faults: tuple[str, ...], **config: float) -> tuple[Outcome, str]:
    with reference_target("direct", faults, **config) as target:
        ctx = CheckContext(target)
        try:
            result = run_check(STREAM_ENDS, ctx)
        finally:
            ctx.close()
    return result.outcome, result.message


def test_a_close_long_after_done_fails() -> None:
    outcome, message = _outcome(("done_then_hold",), hold_after_done_s=4.0)
    assert outcome is Outcome.FAILED
    assert "after 'data: [DONE]'" in message and "openai-node" in message


def test_a_prompt_close_passes() -> None:
    assert _outcome(())[0] is Outcome.PASSED
