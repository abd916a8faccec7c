"""The text a container sends: whole characters in every delta, reasoning under its usual name."""

from __future__ import annotations

from typing import Final

from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from ._prompts import UNICODE_PROMPT, user

REPLACEMENT: Final = "\ufffd"
THINK: Final = {"chat_template_kwargs": {"enable_thinking": True}}
TEXT_FIELDS: Final = ("content", "reasoning_content", "reasoning")


@check("chunk.whole_characters", "MUST", after="chunk.schema")
def whole_characters(ctx: CheckContext) -> str:
    """Every delta carries whole characters: no multi-byte character cut into U+FFFD halves.

    Why: a delta is JSON text, so a character cut in two reaches every client as two
    replacement characters: openai-python streams `héllo` as `h��llo` with no error
    (tests/clients/test_evidence_features.py, fault `split_utf8`). A character split across
    network reads is fine: the bytes of one event arrive whole before they are decoded, and
    the kit passes such a stream (tests/kit/test_text_checks.py).

    Fix: detokenize incrementally: hold back a token's bytes until they make whole UTF-8
    characters (vLLM's and TGI's incremental detokenizers do), then send them in the next
    delta.
    """
    body = ctx.body(messages=user(UNICODE_PROMPT), max_completion_tokens=32)
    ex = ctx.stream(body)
    for payload, raw in ctx.events(ex, "the streaming unicode request"):
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            texts = [delta.get(k) for k in TEXT_FIELDS] if isinstance(delta, dict) else []
            if any(isinstance(t, str) and REPLACEMENT in t for t in texts):
                raise ex.failure(
                    "a delta carries U+FFFD: a multi-byte character was cut in two and each "
                    "half decoded alone; hold a token's bytes back until they are whole",
                    raw,
                )
    return "no delta carries U+FFFD"


@check("chat.reasoning_field", "SHOULD", layer="spec", after="chat.schema")
def reasoning_field(ctx: CheckContext) -> str:
    """Reasoning, when the model reasons, is in `message.reasoning_content`.

    Why: `reasoning_content` is the name of the DeepSeek API, which SGLang, vLLM before 0.16
    and LiteLLM's message type use; vLLM 0.16 sends `reasoning` instead. No client of the
    matrix needs the old name: LiteLLM 1.108 reads the reasoning under either
    (tests/clients/test_evidence_features.py, fault `reasoning_renamed`). A model that does
    not reason passes.

    Fix: send the reasoning as `reasoning_content` (in deltas too), or both names (vLLM 0.16
    with `--reasoning-parser` sends `reasoning`).
    """
    ex = ctx.chat(ctx.body(**THINK))
    if ex.status is not None and 400 <= ex.status < 500 and ex.cut is None:
        ctx.expect_baseline(stream=False)  # blocked when the default request fails too
        raise CheckSkipped(f"chat_template_kwargs.enable_thinking was refused ({ex.describe()})")
    ctx.expect_ok(ex, "a request with chat_template_kwargs.enable_thinking")
    try:
        message = ex.json["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        message = {}
    message = message if isinstance(message, dict) else {}
    if message.get("reasoning_content"):
        return "reasoning in reasoning_content"
    if message.get("reasoning"):
        raise ex.failure(
            "the reasoning is in 'reasoning' only; send it as 'reasoning_content' too, "
            "the name SGLang, vLLM before 0.16 and LiteLLM's message type use"
        )
    return "the answer carries no reasoning: nothing to judge"
