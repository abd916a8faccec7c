"""The text a container streams: whole characters in every delta."""

from __future__ import annotations

from typing import Final

from .._engine._context import CheckContext
from .._engine._registry import check
from ._prompts import UNICODE_PROMPT, user

REPLACEMENT: Final = "\ufffd"
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
