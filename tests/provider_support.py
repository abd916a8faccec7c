"""Shared constants and SSE builders for the provider tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

REGION = "us-east-1"
HOST = f"https://runtime.sagemaker.{REGION}.amazonaws.com"
EP_URL = f"{HOST}/endpoints/ep/openai/v1/chat/completions"
IC_URL = f"{HOST}/endpoints/ep/inference-components/ic/openai/v1/chat/completions"
CREDS: dict[str, Any] = {
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_region_name": REGION,
}
MESSAGES = [{"role": "user", "content": "hi"}]
BASE = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "system_fingerprint": "fp_1"}  # fmt: skip


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish, **extra}
    return {**BASE, "choices": [choice]}


def usage_chunk(prompt: int = 11, completion: int = 22) -> dict[str, Any]:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return {**BASE, "choices": [], "usage": usage}


def sse(*events: dict[str, Any], done: bool = True) -> bytes:
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


RICH_STREAM = (
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "thinking"}),
    chunk({"content": "Hel"}, logprobs={"content": [{"token": "Hel", "logprob": -0.5, "bytes": [72, 101, 108], "top_logprobs": []}]}),
    chunk({"content": "lo"}),
    chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "Paris"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
    chunk({}, "tool_calls"),
    usage_chunk(),
)  # fmt: skip


def completion_json(content: str = "hello", **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "served-model",
        "system_fingerprint": "fp_9",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }  # fmt: skip


def logged_call(
    call: dict[str, Any], *, sync: bool, stream: bool, logged: Callable[[], bool]
) -> Any:
    """One LiteLLM call (a stream is read and built into a response), once ``logged()`` holds.

    Success logging runs on a thread pool or, for async calls, as tasks on the caller's loop:
    the wait (generous, it only catches a hang) happens while that loop still runs.
    """
    import litellm

    deadline = time.monotonic() + 30
    if sync:
        result = litellm.completion(stream=stream, **call)
        result = litellm.stream_chunk_builder(list(result)) if stream else result
        while not logged() and time.monotonic() < deadline:
            time.sleep(0.05)
        return result

    async def run() -> Any:
        result = await litellm.acompletion(stream=stream, **call)
        if stream:
            result = litellm.stream_chunk_builder([chunk async for chunk in result])
        while not logged() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return result

    return asyncio.run(run())
