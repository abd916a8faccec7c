"""Pattern E: how LiteLLM's stream wrapper treats the two chunk shapes the plugin yields.

``ModelResponseStream`` chunks must reach the caller as they are, and one final
``GenericStreamingChunk`` with the usage and the real finish reason must be accepted after
the finish chunk and used for the usage and the cost (shared/research litellm_mechanics §3).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import litellm
import pytest
from compat.compat_support import USAGE, CostRecorder, Probe

PRICING = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
EXPECTED_COST = 11 * 1e-6 + 22 * 2e-6
CALL = {"model": "compatprobe/ep", "messages": [{"role": "user", "content": "hi"}],
        "stream": True, "stream_options": {"include_usage": True}, **PRICING}  # fmt: skip


def _collect(use_async: bool, recorder: CostRecorder | None = None) -> list[Any]:
    """Read one stream to its end; with a recorder, wait (generously) for its success log."""
    deadline = time.monotonic() + 30  # success logging runs on a thread pool or a task
    if not use_async:
        chunks = list(litellm.completion(**CALL))
        while recorder is not None and not recorder.costs and time.monotonic() < deadline:
            time.sleep(0.05)
        return chunks

    async def run() -> list[Any]:
        stream = await litellm.acompletion(**CALL)
        chunks = [chunk async for chunk in stream]
        # The success callbacks are tasks on this loop: wait while it still runs.
        while recorder is not None and not recorder.costs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return chunks

    return asyncio.run(run())


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_model_response_stream_chunks_reach_the_caller_whole(probe: Probe, use_async: bool) -> None:
    chunks = _collect(use_async)
    with_choices = [chunk for chunk in chunks if chunk.choices]
    assert {chunk.id for chunk in with_choices} == {"chatcmpl-compat"}, (
        "ModelResponseStream chunks no longer keep the container's chunk id"
    )
    deltas = [chunk.choices[0].delta for chunk in with_choices]
    # LiteLLM rebuilds the finish chunk (it swallows a finish without content); the chunks
    # that carry content are the container's own and must keep every field.
    own = [c for c, d in zip(with_choices, deltas, strict=True)
           if d.content is not None or d.tool_calls or getattr(d, "reasoning_content", None)]  # fmt: skip
    fingerprints = {getattr(chunk, "system_fingerprint", None) for chunk in own}
    assert fingerprints == {"fp_compat"}, (
        f"ModelResponseStream chunks no longer keep system_fingerprint (saw {fingerprints})"
    )
    assert any(getattr(d, "reasoning_content", None) == "thinking" for d in deltas), (
        "delta.reasoning_content of a ModelResponseStream chunk no longer reaches the caller"
    )
    assert any(chunk.choices[0].logprobs for chunk in with_choices), (
        "logprobs of a ModelResponseStream chunk no longer reach the caller"
    )
    calls = [tc for d in deltas for tc in (d.tool_calls or [])]
    ids = [tc.id for tc in calls if tc.id]
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.index == 0)
    assert ids == ["call_a", "call_b"] and arguments == '{"city":"Paris"}', (
        f"tool-call deltas of ModelResponseStream chunks are altered (ids {ids}, arguments "
        f"{arguments!r}); they must pass through as they are"
    )
    finishes = [
        chunk.choices[0].finish_reason for chunk in with_choices if chunk.choices[0].finish_reason
    ]
    assert finishes == ["tool_calls"], (
        f"the stream's finish reasons are {finishes}, not ['tool_calls']"
    )


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_final_usage_chunk_after_the_finish_is_accepted_and_priced(
    probe: Probe, use_async: bool
) -> None:
    recorder = CostRecorder()
    litellm.callbacks.append(recorder)
    chunks = _collect(use_async, recorder)
    usages = [chunk.usage for chunk in chunks if getattr(chunk, "usage", None)]
    assert usages and usages[-1].total_tokens == USAGE["total_tokens"], (
        "a GenericStreamingChunk carrying usage after the finish chunk is no longer accepted, or "
        f"its usage is not the one the caller gets (got {usages[-1:]}); LiteLLM would re-count "
        "tokens locally"
    )
    assert (usages[-1].prompt_tokens, usages[-1].completion_tokens) == (11, 22)
    assert recorder.costs, "no success callback ran after the stream ended"
    assert recorder.costs[-1] == pytest.approx(EXPECTED_COST), (
        f"the logged response_cost is {recorder.costs[-1]}, not the cost of the container's "
        f"usage ({EXPECTED_COST}); the final usage chunk no longer drives the cost"
    )
