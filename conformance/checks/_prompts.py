"""Prompts and bodies several check modules share."""

from __future__ import annotations

from typing import Any, Final

from .._engine._context import CheckContext

# Too long for 5 tokens, on a real model (it counts) and on the reference (it echoes).
COUNT_PROMPT: Final = "Count from 1 to 50, separated by spaces."
# A real model repeats ~100 numbers and the reference echoes them: a long, paced generation.
LONG_PROMPT: Final = "Repeat these numbers exactly: " + " ".join(str(i) for i in range(1, 101))
UNICODE_PROMPT: Final = "Reply with exactly: héllo wörld 👋 你好"
LONG_MAX_TOKENS: Final = 64


def user(text: str) -> list[dict[str, Any]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


def long_body(ctx: CheckContext) -> dict[str, Any]:
    """The long streamed generation used for timing checks (cached and shared)."""
    return ctx.body(messages=user(LONG_PROMPT), max_completion_tokens=LONG_MAX_TOKENS)


def count_body(ctx: CheckContext, **overrides: Any) -> dict[str, Any]:
    """The counting prompt, whose answer is longer than a handful of tokens."""
    return ctx.body(messages=user(COUNT_PROMPT), **overrides)


def content_of(data: Any) -> str | None:
    """`choices[0].message.content` of a chat.completion, if present."""
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def finish_of(data: Any) -> Any:
    """`choices[0].finish_reason` of a chat.completion, if present."""
    try:
        return data["choices"][0]["finish_reason"]
    except (KeyError, IndexError, TypeError):
        return None
