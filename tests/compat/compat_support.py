"""A recording CustomLLM and canned chunks for the LiteLLM contract tests.

The probe stands where the plugin stands (a ``CustomLLM`` in ``litellm.custom_provider_map``)
and records what LiteLLM hands it, so each test can state one behaviour of LiteLLM that the
plugin relies on, and fail with a message that names it.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse, ModelResponseStream

# Set by a test's pre-call hook; read back inside the probe's methods.
SEEN_BY_HOOK: contextvars.ContextVar[object] = contextvars.ContextVar("compat_seen", default=None)

CHUNK_BASE = {"id": "chatcmpl-compat", "object": "chat.completion.chunk", "created": 1700000000,
              "model": "container-model", "system_fingerprint": "fp_compat"}  # fmt: skip
USAGE = {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}
LOGPROBS = {"content": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}]}
DELTAS: list[tuple[dict[str, Any], str | None, dict[str, Any] | None]] = [
    ({"role": "assistant", "content": ""}, None, None),
    ({"reasoning_content": "thinking"}, None, None),
    ({"content": "Hi"}, None, LOGPROBS),
    ({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                      "function": {"name": "get_weather", "arguments": ""}}]}, None, None),
    ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}, None, None),
    ({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, None, None),
    ({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                      "function": {"name": "get_time", "arguments": "{}"}}]}, None, None),
    ({}, "tool_calls", None),
]  # fmt: skip


def pattern_e_chunks() -> list[ModelResponseStream | GenericStreamingChunk]:
    """What the plugin yields for one stream: chunks as parsed, then usage with the finish."""
    chunks: list[ModelResponseStream | GenericStreamingChunk] = [
        ModelResponseStream(
            **CHUNK_BASE,
            choices=[{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}],  # type: ignore[list-item]
        )
        for delta, finish, logprobs in DELTAS
    ]
    usage_chunk: GenericStreamingChunk = {
        "text": "", "is_finished": True, "finish_reason": "tool_calls", "usage": USAGE,  # type: ignore[typeddict-item]
        "index": 0, "tool_use": None,
    }  # fmt: skip
    return [*chunks, usage_chunk]


def model_response() -> ModelResponse:
    return ModelResponse(
        id="chatcmpl-compat",
        model="container-model",
        choices=[{"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": "You said: hi"}}],
        usage={"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    )  # fmt: skip


@dataclass
class Call:
    """One call LiteLLM made into the probe."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    thread: int
    has_running_loop: bool
    seen_by_hook: object


class Probe(CustomLLM):
    """Records every call; answers with canned responses in the plugin's shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []

    def _record(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            asyncio.get_running_loop()
            running = True
        except RuntimeError:
            running = False
        self.calls.append(
            Call(method, args, kwargs, threading.get_ident(), running, SEEN_BY_HOOK.get())
        )

    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        self._record("completion", args, kwargs)
        return model_response()

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        self._record("acompletion", args, kwargs)
        return model_response()

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        self._record("streaming", args, kwargs)
        return iter(pattern_e_chunks())

    # A plain def returning an async iterator, as the plugin's: it opens the request first.
    def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        self._record("astreaming", args, kwargs)
        return _aiter(pattern_e_chunks())


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


class CostRecorder(CustomLogger):
    """The ``response_cost`` LiteLLM logs for each of the probe's calls.

    Only ``compatprobe`` calls: LiteLLM's logging worker may still deliver earlier tests' events.
    """

    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        if kwargs.get("custom_llm_provider") == "compatprobe":
            self.costs.append(kwargs.get("response_cost"))

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)
