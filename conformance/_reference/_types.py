"""Value types shared by the reference container's modules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RequestError(Exception):
    """A request the container refuses; rendered as `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | int | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type_

    def envelope(self) -> dict[str, Any]:
        """The OpenAI error body for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


@dataclass(frozen=True)
class ToolCallIn:
    """A tool call echoed back in an assistant message of the history."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    """One chat message, reduced to what the deterministic model reads."""

    role: str
    text: str
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCallIn, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A function tool offered by the request."""

    name: str
    parameters: Mapping[str, Any]
    definition: str  # canonical JSON of the function, counted as prompt tokens


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request."""

    model: str
    messages: tuple[Message, ...]
    stream: bool = False
    include_usage: bool = False
    n: int = 1
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"  # "none", "auto", "required" or "named"
    tool_name: str | None = None  # the tool of a named tool_choice
    parallel_tool_calls: bool = True
    thinking: bool | None = None  # chat_template_kwargs.enable_thinking, if given
    seed: int | None = None
    json_schema: Mapping[str, Any] | None = None  # response_format json_schema (json_object: {})
