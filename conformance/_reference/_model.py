"""The deterministic "model": tokenizer, replies, stop strings, budget, logprobs, reasoning."""

from __future__ import annotations

import dataclasses
import itertools
import re
import uuid
from dataclasses import dataclass
from typing import Any, Final

from conformance._reference._config import ReferenceConfig
from conformance._reference._tools import (
    build_arguments,
    choose_tools,
    last_user_text,
    tool_result_reply,
)
from conformance._reference._types import ChatRequest, ToolSpec

# A token is up to 16 non-space characters with up to 16 spaces before them, or a run of up to
# 16 spaces: joining the tokens of a text gives the text back, and no token is unboundedly long.
TOKEN: Final = re.compile(r"\s{0,16}\S{1,16}|\s{1,16}")
TOKENS_PER_MESSAGE: Final = 4
TOKENS_PER_PROMPT: Final = 3
ALTERNATIVES: Final = (
    " the", " a", " and", " of", " to", " is", " in", " it", " you", " that", " for",
    " on", " with", " as", " was", " be", " at", " this", " have", " or", " not",
)  # fmt: skip


def tokenize(text: str) -> list[str]:
    """Split `text` into tokens; `"".join(tokenize(text)) == text`."""
    return TOKEN.findall(text)


def count_tokens(text: str, cap: int | None = None) -> int:
    """The number of tokens of `text`, counting no further than `cap` (for huge prompts)."""
    matches = TOKEN.finditer(text)
    return sum(1 for _ in (matches if cap is None else itertools.islice(matches, cap)))


def prompt_tokens(request: ChatRequest, cap: int) -> int:
    """3 + per message (4 + tokens of its text and tool calls) + tokens of each tool's JSON.

    Counting stops once `cap` is passed, so a 6 MB prompt is refused quickly.
    """
    total = TOKENS_PER_PROMPT
    texts = [tool.definition for tool in request.tools]
    for message in request.messages:
        total += TOKENS_PER_MESSAGE
        texts.append(message.text)
        texts.extend(part for call in message.tool_calls for part in (call.name, call.arguments))
    for text in texts:
        if total > cap:
            break
        total += count_tokens(text, cap + 1 - total)
    return total


@dataclass(frozen=True)
class ToolCallOut:
    """A generated tool call; `pieces` are its argument tokens (cut short by the budget)."""

    id: str
    name: str
    pieces: tuple[str, ...]

    @property
    def arguments(self) -> str:
        """The arguments JSON (invalid only when the token budget cut it)."""
        return "".join(self.pieces)


@dataclass(frozen=True)
class Completion:
    """One generated choice."""

    index: int
    reasoning: tuple[str, ...]
    content: tuple[str, ...]
    tool_calls: tuple[ToolCallOut, ...]
    finish_reason: str

    @property
    def text(self) -> str:
        """The content as one string."""
        return "".join(self.content)

    @property
    def completion_tokens(self) -> int:
        """Reasoning + content tokens + per tool call one token for the name plus its arguments."""
        calls = sum(1 + len(call.pieces) for call in self.tool_calls)
        return len(self.reasoning) + len(self.content) + calls


def generate(request: ChatRequest, config: ReferenceConfig, prompt: int) -> tuple[Completion, ...]:
    """All `n` choices for a validated request whose prompt has `prompt` tokens."""
    budget = request.max_tokens or min(config.max_output_tokens, config.context_limit - prompt)
    thinking = config.reasoning if request.thinking is None else request.thinking
    if config.has("ignore_named_tool_choice") and request.tool_choice == "named":
        request = dataclasses.replace(request, tool_choice="required")
    user_text = last_user_text(request.messages)
    tool_reply = tool_result_reply(request.messages)
    tools = choose_tools(request) or (_again(request, config) if tool_reply is not None else ())
    if tools:
        action = "call " + " and ".join(tool.name for tool in tools)
    else:
        action = "summarise the tool results" if tool_reply is not None else "repeat them"
    words = len(user_text.split())
    reasoning = tokenize(f"The user wrote {words} word(s), so I will {action}.") if thinking else []
    choices = []
    for index in range(request.n):
        left = budget - len(reasoning)
        thought = tuple(reasoning[:budget])
        if left <= 0:
            choices.append(Completion(index, thought, (), (), "length"))
            continue
        if tools:
            calls, finish = _tool_calls(tools, user_text, left)
            if config.has("tools_as_text"):
                # As llama.cpp without a tool-call parser: the model's call, left as text.
                text = "".join(
                    f'<tool_call>{{"name": "{call.name}", "arguments": {call.arguments}}}'
                    "</tool_call>"
                    for call in calls
                )
                choices.append(Completion(index, thought, tuple(tokenize(text)), (), "stop"))
                continue
            choices.append(Completion(index, thought, (), calls, finish))
            continue
        reply = tool_reply if tool_reply is not None else _echo(user_text)
        structured = request.json_schema is not None and not config.has("ignore_response_format")
        if structured:
            # As guided decoding would: JSON that the schema accepts, built as tool arguments are.
            reply = build_arguments(ToolSpec("answer", request.json_schema or {}, ""), user_text)
        elif index:
            reply = f"Variant {index}: {reply}"
        stops = () if config.has("ignore_stop") else request.stop
        content, finish = apply_stop(tokenize(reply), stops, left)
        choices.append(Completion(index, thought, tuple(content), (), finish))
    return tuple(choices)


def _again(request: ChatRequest, config: ReferenceConfig) -> tuple[ToolSpec, ...]:
    # As a small model that keeps calling the tool instead of reading its result.
    if not config.has("tool_call_again") or request.tool_choice == "none":
        return ()
    return request.tools[:1]


def _echo(text: str) -> str:
    return f"You said: {text}" if text.strip() else "You said nothing."


def _tool_calls(
    tools: tuple[ToolSpec, ...], text: str, budget: int
) -> tuple[tuple[ToolCallOut, ...], str]:
    calls: list[ToolCallOut] = []
    for tool in tools:
        if budget < 1:
            return tuple(calls), "length"
        pieces = tokenize(build_arguments(tool, text))
        kept = pieces[: budget - 1]
        budget -= 1 + len(kept)
        calls.append(ToolCallOut(f"call_{uuid.uuid4().hex[:24]}", tool.name, tuple(kept)))
        if len(kept) < len(pieces):
            return tuple(calls), "length"
    return tuple(calls), "tool_calls"


def apply_stop(tokens: list[str], stops: tuple[str, ...], budget: int) -> tuple[list[str], str]:
    """Cut `tokens` at the first stop string fully generated within `budget` tokens, or at it.

    The stop string itself is left out and the finish reason is "stop". A stop string that would
    only be complete after the budget does not count: the reply ends with "length".
    """
    text = "".join(tokens)
    reachable = sum(len(token) for token in tokens[:budget])
    hit: tuple[int, int] | None = None
    for stop in stops:
        start = text.find(stop)
        if start >= 0 and start + len(stop) <= reachable:
            candidate = (start + len(stop), start)
            hit = candidate if hit is None or candidate < hit else hit
    if hit is not None:
        return _clip(tokens, hit[1]), "stop"
    if len(tokens) > budget:
        return tokens[:budget], "length"
    return tokens, "stop"


def _clip(tokens: list[str], cut: int) -> list[str]:
    kept, end = [], 0
    for token in tokens:
        if end + len(token) > cut:
            if cut > end:
                kept.append(token[: cut - end])
            break
        kept.append(token)
        end += len(token)
    return kept


def token_logprob(token: str, top: int) -> dict[str, Any]:
    """An OpenAI `ChatCompletionTokenLogprob` for `token` with `top` alternatives.

    The chosen token gets logprob -0.05, -0.10, -0.15 or -0.20 (by its byte sum) and heads
    `top_logprobs`; alternatives from a fixed word list follow at -4.0, -5.0, ...
    """
    logprob = round(-0.05 * (1 + sum(token.encode()) % 4), 2)
    alternatives = [word for word in ALTERNATIVES if word != token][: max(top - 1, 0)]
    candidates = [(token, logprob)] if top else []
    candidates += [(word, -3.0 - rank) for rank, word in enumerate(alternatives, start=1)]
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": word, "logprob": value, "bytes": list(word.encode())}
            for word, value in candidates
        ],
    }
