"""Turn generated choices into OpenAI JSON: the chat.completion body and planned stream frames."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from conformance._reference._config import ReferenceConfig
from conformance._reference._model import Completion, token_logprob
from conformance._reference._types import ChatRequest

MID_STREAM_ERROR: Final = {
    "error": {
        "message": "the reference container failed mid-stream on purpose (fault mid_stream_error)",
        "type": "internal_server_error",
        "param": None,
        "code": 500,
    }
}

# Text Generation Inference's shape: `error` is the message itself, beside an `error_type`.
FLAT_ERROR: Final = {
    "error": "the reference container failed mid-stream on purpose (fault flat_error_frame)",
    "error_type": "generation",
}


@dataclass(frozen=True)
class Frame:
    """One planned stream event: wait `delay` seconds, then send `payload` (None is `[DONE]`)."""

    delay: float
    payload: dict[str, Any] | None
    tokens: bool = False  # carries generated tokens (content, reasoning or a tool-call fragment)


@dataclass(frozen=True)
class Reply:
    """Everything needed to render one request's answer."""

    request: ChatRequest
    config: ReferenceConfig
    choices: tuple[Completion, ...]
    prompt_tokens: int
    id: str
    created: int


def usage(reply: Reply) -> dict[str, Any]:
    """The CompletionUsage of a reply; reasoning tokens are itemised when there are any."""
    completion = sum(choice.completion_tokens for choice in reply.choices)
    body: dict[str, Any] = {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": reply.prompt_tokens + completion,
    }
    reasoning = sum(len(choice.reasoning) for choice in reply.choices)
    if reasoning:
        body["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return body


def completion_body(reply: Reply) -> dict[str, Any]:
    """The non-streaming `chat.completion` object."""
    choices = []
    for choice in reply.choices:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if choice.tool_calls else choice.text,
            "refusal": None,
        }
        if choice.reasoning:
            message[_reasoning_key(reply)] = "".join(choice.reasoning)
        if choice.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in choice.tool_calls
            ]
        logprobs = _logprobs(reply, list(choice.content)) if reply.request.logprobs else None
        body = {
            "index": choice.index,
            "message": message,
            "logprobs": logprobs,
            "finish_reason": choice.finish_reason,
        }
        choices.append(_without_nulls(body) if reply.config.has("omit_null_keys") else body)
    return {
        **_envelope(reply, "chat.completion", reply.id),
        "choices": choices,
        "usage": usage(reply),
    }


def generation_seconds(reply: Reply) -> float:
    """How long generating the reply takes: ttft_ms, then itl_ms per further decode step."""
    steps = max(choice.completion_tokens for choice in reply.choices)
    return (reply.config.ttft_ms + reply.config.itl_ms * max(steps - 1, 0)) / 1000


def stream_frames(reply: Reply) -> list[Frame]:
    """The planned stream: per-choice events interleaved step by step, usage, `[DONE]`."""
    config = reply.config
    per_choice = [_choice_events(reply, choice) for choice in reply.choices]
    frames: list[Frame] = []
    for step in range(max(len(events) for events in per_choice)):
        events = [events[step] for events in per_choice if step < len(events)]
        tokens = any(is_token for _, is_token in events)
        if step == 0:
            delay = config.ttft_ms / 1000
        else:
            # The first tokens arrive with the role chunks; each later decode step costs itl_ms.
            delay = config.itl_ms / 1000 if tokens and step > 1 else 0.0
        for position, (choice, is_token) in enumerate(events):
            frames.append(Frame(delay if position == 0 else 0.0, _chunk(reply, [choice]), is_token))
    if config.has("mid_stream_error"):
        return _fail_mid_stream(frames, config)
    if _include_usage(reply) or config.has("usage_without_include"):
        if config.has("usage_with_choices"):
            last = frames[-1]
            frames[-1] = Frame(last.delay, {**(last.payload or {}), "usage": usage(reply)})
        else:
            frames.append(Frame(0.0, {**_chunk(reply, []), "usage": usage(reply)}))
    if not config.has("no_done"):
        frames.append(Frame(0.0, None))
    return frames


def _choice_events(reply: Reply, choice: Completion) -> list[tuple[dict[str, Any], bool]]:
    role = {} if reply.config.has("missing_role") else {"role": "assistant"}
    events = [(_choice(choice.index, {**role, "content": ""}), False)]
    key = _reasoning_key(reply)
    events += [(_choice(choice.index, {key: t}), True) for t in choice.reasoning]
    for token in choice.content:
        logprobs = _logprobs(reply, [token]) if reply.request.logprobs else None
        for piece in _pieces(token, reply.config.has("split_utf8")):
            events.append((_choice(choice.index, {"content": piece}, logprobs=logprobs), True))
    indexed = not reply.config.has("tool_delta_no_index")
    same = reply.config.has("parallel_same_index")
    for number, call in enumerate(choice.tool_calls):
        index = {"index": 0 if same else number} if indexed else {}
        head = {**index, "id": call.id, "type": "function"}
        head["function"] = {"name": call.name, "arguments": ""}
        events.append((_choice(choice.index, {"tool_calls": [head]}), True))
        for piece in call.pieces:
            fragment = {**index, "function": {"arguments": piece}}
            events.append((_choice(choice.index, {"tool_calls": [fragment]}), True))
    events.append((_choice(choice.index, {}, finish=choice.finish_reason), False))
    return events


def _reasoning_key(reply: Reply) -> str:
    return "reasoning" if reply.config.has("reasoning_renamed") else "reasoning_content"


def _pieces(token: str, split: bool) -> list[str]:
    """The token, or (split_utf8) its bytes cut inside the first multi-byte character and each
    half decoded alone, as an engine that detokenizes byte-level tokens one at a time does."""
    data = token.encode()
    cut = next((i + 1 for i, byte in enumerate(data) if byte >= 0x80), None)
    if not split or cut is None:
        return [token]
    return [data[:cut].decode(errors="replace"), data[cut:].decode(errors="replace")]


def _include_usage(reply: Reply) -> bool:
    return reply.request.include_usage and not reply.config.has("ignore_include_usage")


def _without_nulls(choice: dict[str, Any]) -> dict[str, Any]:
    # transformers serve 5.23 leaves out `logprobs`, and `finish_reason` until the last chunk.
    return {k: v for k, v in choice.items() if v is not None or k in ("delta", "message")}


def _choice(
    index: int, delta: dict[str, Any], *, logprobs: Any = None, finish: str | None = None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


def _chunk(reply: Reply, choices: list[dict[str, Any]]) -> dict[str, Any]:
    chunk_id = f"chatcmpl-{uuid.uuid4().hex}" if reply.config.has("unstable_id") else reply.id
    if reply.config.has("omit_null_keys"):
        choices = [_without_nulls(choice) for choice in choices]
    body = {**_envelope(reply, "chat.completion.chunk", chunk_id), "choices": choices}
    if _include_usage(reply):
        # OpenAI: with include_usage every chunk has `usage`, null except in the usage chunk.
        body["usage"] = None
    return body


def _envelope(reply: Reply, kind: str, completion_id: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": kind,
        "created": str(reply.created) if reply.config.has("string_created") else reply.created,
        "model": reply.config.model_name,
        "system_fingerprint": reply.config.system_fingerprint,
    }


def _logprobs(reply: Reply, tokens: list[str]) -> dict[str, Any]:
    top = reply.request.top_logprobs
    return {"content": [token_logprob(token, top) for token in tokens], "refusal": None}


def _fail_mid_stream(frames: list[Frame], config: ReferenceConfig) -> list[Frame]:
    kept: list[Frame] = []
    sent = 0
    for frame in frames:
        finishing = frame.payload is not None and any(
            choice.get("finish_reason") for choice in frame.payload["choices"]
        )
        if finishing or (frame.tokens and sent >= config.mid_stream_error_after):
            break
        kept.append(frame)
        sent += frame.tokens
    # vLLM sends the error frame and then still closes with [DONE]; `no_done` removes it.
    error = FLAT_ERROR if config.has("flat_error_frame") else MID_STREAM_ERROR
    kept.append(Frame(config.itl_ms / 1000, error))
    return kept if config.has("no_done") else [*kept, Frame(0.0, None)]
