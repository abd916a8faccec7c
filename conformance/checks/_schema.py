"""Validators for the OpenAI chat shapes (openai-openapi ``CreateChatCompletion*``); each
returns a list of problems, empty when the object conforms. Extra fields are always allowed."""

from __future__ import annotations

import json
from typing import Any, Final

FINISH_REASONS: Final = frozenset(
    {"stop", "length", "tool_calls", "content_filter", "function_call"}
)


# Problems no client of the matrix breaks on (evidence: the `omit_null_keys` fault): a key whose
# value would be null, left out. They belong to the strict layer (chat.null_keys,
# chunk.null_keys), not to the MUST schema checks.
NULLABLE: Final = "(null is fine)"


def breaking(problems: list[str]) -> list[str]:
    """The problems clients break on: every problem but a missing nullable key."""
    return [p for p in problems if not p.endswith(NULLABLE)]


def nullable(problems: list[str]) -> list[str]:
    """Only the missing nullable keys."""
    return [p for p in problems if p.endswith(NULLABLE)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def completion_problems(data: Any) -> list[str]:
    """Problems with a non-streaming ``chat.completion`` body."""
    if not isinstance(data, dict):
        return [f"the body is {_type_name(data)}, not a JSON object"]
    problems = _envelope_problems(data, "chat.completion")
    choices = data.get("choices")
    if isinstance(choices, list):
        if not choices:
            problems.append("'choices' is empty")
        for i, choice in enumerate(choices):
            problems += [f"choices[{i}]: {p}" for p in _choice_problems(choice)]
    return problems


def _envelope_problems(data: dict[str, Any], obj: str) -> list[str]:
    problems = []
    if data.get("object") != obj:
        problems.append(f"'object' is {data.get('object')!r}, expected {obj!r}")
    if not isinstance(data.get("id"), str) or not data.get("id"):
        problems.append(f"'id' must be a non-empty string, got {data.get('id')!r}")
    if not _is_int(data.get("created")):
        problems.append(f"'created' must be an integer, got {data.get('created')!r}")
    if not isinstance(data.get("model"), str):
        problems.append(f"'model' must be a string, got {_type_name(data.get('model'))}")
    if not isinstance(data.get("choices"), list):
        problems.append(f"'choices' must be a list, got {_type_name(data.get('choices'))}")
    return problems


def _choice_problems(choice: Any) -> list[str]:
    if not isinstance(choice, dict):
        return [f"is {_type_name(choice)}, not an object"]
    problems = []
    if not _is_int(choice.get("index")):
        problems.append(f"'index' must be an integer, got {choice.get('index')!r}")
    if choice.get("finish_reason") not in FINISH_REASONS:
        problems.append(f"'finish_reason' {choice.get('finish_reason')!r} is not in the enum")
    if "logprobs" not in choice:
        problems.append("the 'logprobs' key is missing (null is fine)")
    message = choice.get("message")
    if not isinstance(message, dict):
        return [*problems, f"'message' must be an object, got {_type_name(message)}"]
    if message.get("role") != "assistant":
        problems.append(f"message.role is {message.get('role')!r}, expected 'assistant'")
    if not isinstance(message.get("content"), (str, type(None))):
        problems.append(
            f"message.content must be a string or null, not {_type_name(message.get('content'))}"
        )
    return problems


def chunk_problems(data: Any) -> list[str]:
    """Problems with one ``chat.completion.chunk``."""
    if not isinstance(data, dict):
        return [f"the chunk is {_type_name(data)}, not a JSON object"]
    problems = _envelope_problems(data, "chat.completion.chunk")
    for i, choice in enumerate(data.get("choices") or []):
        if not isinstance(choice, dict):
            problems.append(f"choices[{i}] is {_type_name(choice)}, not an object")
            continue
        if not _is_int(choice.get("index")):
            problems.append(f"choices[{i}].index must be an integer, got {choice.get('index')!r}")
        if not isinstance(choice.get("delta"), dict):
            problems.append(f"choices[{i}].delta must be an object")
        if "finish_reason" not in choice:
            problems.append(f"choices[{i}] lacks the 'finish_reason' key (null is fine)")
        elif choice["finish_reason"] is not None and choice["finish_reason"] not in FINISH_REASONS:
            problems.append(
                f"choices[{i}].finish_reason {choice['finish_reason']!r} is not in the enum"
            )
    return problems


def usage_problems(usage: Any) -> list[str]:
    """Problems with a ``CompletionUsage`` object."""
    if not isinstance(usage, dict):
        return [f"'usage' is {_type_name(usage)}, not an object"]
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    bad = [k for k in keys if not _is_int(usage.get(k)) or usage[k] < 0]
    if bad:
        return [f"usage.{k} must be an integer >= 0, got {usage.get(k)!r}" for k in bad]
    if usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
        return [
            f"usage.total_tokens {usage['total_tokens']} != prompt + completion "
            f"({usage['prompt_tokens']} + {usage['completion_tokens']})"
        ]
    return []


def error_problems(data: Any) -> tuple[list[str], bool]:
    """Problems with an error body, and whether it is at least SDK-readable (legacy shape)."""
    if not isinstance(data, dict):
        return [f"the error body is {_type_name(data)}, not a JSON object"], False
    err = data.get("error")
    if isinstance(err, dict):
        problems = [
            f"error.{k} is missing" for k in ("message", "type", "param", "code") if k not in err
        ]
        if not isinstance(err.get("message"), str):
            problems.append("error.message must be a string")
        return problems, isinstance(err.get("message"), str)
    if isinstance(data.get("message"), str):  # the legacy {"object": "error", "message": ...}
        return ['legacy top-level error shape; use {"error": {message, type, param, code}}'], True
    return ["no 'error' object with a 'message'"], False


def logprob_problems(logprobs: Any, top: int) -> list[str]:
    """Problems with a choice's ``logprobs`` (``ChatCompletionTokenLogprob`` items)."""
    if not isinstance(logprobs, dict):
        return [f"logprobs is {_type_name(logprobs)}, expected an object with 'content'"]
    if {"tokens", "token_logprobs"} & logprobs.keys():
        return ["completions-style logprobs (tokens/token_logprobs) on a chat response"]
    content = logprobs.get("content")
    if not isinstance(content, list) or not content:
        return [f"logprobs.content must be a non-empty list, got {_type_name(content)}"]
    problems: list[str] = []
    for i, item in enumerate(content):
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            problems.append(f"content[{i}] lacks a string 'token'")
            continue
        lp = item.get("logprob")
        if not isinstance(lp, (int, float)) or isinstance(lp, bool) or lp > 0:
            problems.append(f"content[{i}].logprob must be a number <= 0, got {lp!r}")
        if not (item.get("bytes") is None or isinstance(item.get("bytes"), list)):
            problems.append(f"content[{i}].bytes must be a list of ints or null")
        tops = item.get("top_logprobs")
        if not isinstance(tops, list) or len(tops) > top:
            problems.append(f"content[{i}].top_logprobs must be a list of at most {top}")
    return problems[:5]


def tool_call_problems(call: Any, names: set[str]) -> list[str]:
    """Problems with one non-streaming ``ChatCompletionMessageToolCall``."""
    if not isinstance(call, dict):
        return [f"tool call is {_type_name(call)}, not an object"]
    problems = []
    if not isinstance(call.get("id"), str) or not call.get("id"):
        problems.append(f"tool call 'id' must be a non-empty string, got {call.get('id')!r}")
    if call.get("type") != "function":
        problems.append(f"tool call 'type' is {call.get('type')!r}, expected 'function'")
    fn = call.get("function")
    if not isinstance(fn, dict):
        return [*problems, "tool call 'function' must be an object"]
    if fn.get("name") not in names:
        problems.append(f"function.name {fn.get('name')!r} is not one of the tools {sorted(names)}")
    problems += arguments_problems(fn.get("arguments"))
    return problems


def arguments_problems(arguments: Any) -> list[str]:
    """``function.arguments`` must be a string holding a JSON object."""
    if not isinstance(arguments, str):
        return [f"function.arguments must be a JSON string, got {_type_name(arguments)}"]
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return [f"function.arguments is not valid JSON: {arguments[:80]!r}"]
    return [] if isinstance(parsed, dict) else ["function.arguments is JSON but not an object"]
