"""Configuration of the reference container and its documented fault switches."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

FAULTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "buffered": "hold the whole stream back, then send every chunk at once at the end",
        "done_then_hold": "send `data: [DONE]`, then hold the connection open "
        "(`hold_after_done_s`)",
        "event_ping": "interleave data-less `event: ping` frames between the SSE events",
        "ignore_response_format": "ignore `response_format`: answer a `json_schema` request "
        "with prose",
        "ignore_stop": "ignore `stop`: the answer runs past the stop string",
        "generate_after_disconnect": "a stream the client leaves keeps running "
        "(`abandoned_run_s`), as a generation nobody reads",
        "ignore_include_usage": "ignore `stream_options.include_usage`: no usage in streams",
        "flat_error_frame": "with `mid_stream_error`, the error frame is flat, as TGI's: "
        '`{"error": "message", "error_type": ...}`',
        "ignore_named_tool_choice": "a named `tool_choice` is read as `required`: the first "
        "tool (or the tools the prompt names) is called instead",
        "jsonlines": "stream JSON lines (LMI style, application/jsonlines) instead of SSE",
        "mid_stream_error": 'fail part-way: send a `data: {"error": ...}` frame, then end',
        "missing_role": "the first delta of each choice has no `role`",
        "no_done": "end the stream without `data: [DONE]`",
        "no_ping": "GET /ping answers 404",
        "omit_null_keys": "leave out the keys whose value is null: `logprobs` in choices, "
        "`finish_reason` in chunks until the last",
        "parallel_same_index": "in a stream, every tool call of a choice carries `index` 0",
        "reasoning_renamed": "send reasoning as `reasoning` (vLLM 0.16's name), "
        "not `reasoning_content`",
        "reject_empty_model": 'refuse `model: ""` with a 404 error',
        "server_error_on_bad_request": "answer invalid requests with 500 instead of 4xx",
        "split_utf8": "stream multi-byte characters cut in two, each half decoded alone (U+FFFD)",
        "string_created": '`created` is a string (`"1700000000"`), in answers and chunks',
        "tool_call_again": "answer a tool result with another call of the tool, as small "
        "models do, instead of text",
        "tool_delta_no_index": "tool-call deltas carry no `index`",
        "tools_as_text": "answer tool requests with the call written as text, no `tool_calls`",
        "unstable_id": "the chunk `id` changes from chunk to chunk",
        "usage_with_choices": "usage rides on the last finish chunk, so its `choices` is not empty",
        "usage_without_include": "send a usage chunk although `include_usage` was not asked",
        "wrong_content_type": "send the SSE stream as `Content-Type: application/json`",
    }
)


@dataclass(frozen=True)
class ReferenceConfig:
    """Behaviour of one reference container.

    Attributes:
        ttft_ms: Delay before the first chunk of a stream (and before a non-stream answer).
        itl_ms: Delay between token-bearing chunks of a stream (one decode step).
        context_limit: Context window in tokens; prompts at or above it get a 400.
        max_output_tokens: Completion budget when the request gives no max_(completion_)tokens.
        faults: Names from `FAULTS`; each makes the container misbehave in one documented way.
        model_name: The `model` reported in every response, whatever the request said.
        reasoning: Emit `reasoning_content` unless the request sets
            `chat_template_kwargs.enable_thinking` to false.
        mid_stream_error_after: With the `mid_stream_error` fault, token steps sent before failing.
        system_fingerprint: The `system_fingerprint` of every response.
        hold_after_done_s: With the `done_then_hold` fault, how long the connection stays open
            after `data: [DONE]` before the container closes it.
        abandoned_run_s: With the `generate_after_disconnect` fault, how long a stream the
            client left keeps counting as running in `/metrics` (`vllm:num_requests_running`).
        headers_after_ttft: Hold a stream's response headers until its first chunk is due, as a
            container that queues or prefills before it answers does: the caller then waits
            `ttft_ms` for the headers themselves, not only for the first chunk.
        stamp_sent_at: Add a `sent_at` field (wall-clock epoch seconds, microsecond precision,
            read when the event is written) to every streamed SSE chunk, so a benchmark can
            measure how long each chunk takes from the container to the caller. Off by default.
            Only `data: {...}` events are stamped, and not under the `buffered` fault.
    """

    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    context_limit: int = 8192
    max_output_tokens: int = 256
    faults: frozenset[str] = field(default_factory=frozenset)
    model_name: str = "reference-model"
    reasoning: bool = False
    mid_stream_error_after: int = 2
    system_fingerprint: str = "fp_reference"
    stamp_sent_at: bool = False
    headers_after_ttft: bool = False
    hold_after_done_s: float = 30.0
    abandoned_run_s: float = 5.0

    def __post_init__(self) -> None:
        # Accept any iterable of names so `ReferenceConfig(faults={"no_done"})` just works.
        faults = frozenset(_as_names(self.faults))
        unknown = sorted(faults - FAULTS.keys())
        if unknown:
            raise ValueError(
                f"unknown fault(s) {', '.join(unknown)}; valid names are: {', '.join(FAULTS)}"
            )
        object.__setattr__(self, "faults", faults)
        for name in ("ttft_ms", "itl_ms", "hold_after_done_s", "abandoned_run_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("context_limit", "max_output_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.mid_stream_error_after < 0:
            raise ValueError(
                f"mid_stream_error_after must be >= 0, got {self.mid_stream_error_after!r}"
            )

    def has(self, fault: str) -> bool:
        """Whether the fault switch `fault` is on."""
        return fault in self.faults


def _as_names(faults: Iterable[str] | str) -> Iterable[str]:
    # A bare string would otherwise be split into characters.
    return (faults,) if isinstance(faults, str) else faults
