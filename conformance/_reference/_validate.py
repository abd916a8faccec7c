"""Request parsing and validation for the reference container, with OpenAI's error envelope."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from conformance._reference._types import ChatRequest, Message, RequestError, ToolCallIn, ToolSpec

ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MAX_N: Final = 8
MAX_TOP_LOGPROBS: Final = 20
TOOL_CHOICE_MODES: Final = ("none", "auto", "required")


def parse_json_body(content_type: str | None, body: bytes) -> Mapping[str, Any]:
    """Check the media type (415) and decode the body as a JSON object (400)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise RequestError(
            f"unsupported Content-Type {content_type or '(none)'!r}; "
            "send the body as JSON with 'Content-Type: application/json'",
            status=415,
            code="unsupported_media_type",
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc}); send a JSON object"
        ) from exc
    if not isinstance(data, dict):
        raise RequestError("the request body must be a JSON object with a 'messages' list")
    return data


def parse_request(body: Mapping[str, Any]) -> ChatRequest:
    """Validate a decoded chat completion body; raise `RequestError` naming the bad field."""
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise _bad("model", 'a string ("" is fine)', model)
    for name, low, high in (
        ("temperature", 0, 2),
        ("top_p", 0, 1),
        ("frequency_penalty", -2, 2),
        ("presence_penalty", -2, 2),
    ):
        _number(body, name, low, high)
    stream = _boolean(body, "stream") or False
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _bad("stream_options", 'an object such as {"include_usage": true}', options)
    if options is not None and not stream:
        raise RequestError(
            "'stream_options' is only allowed when 'stream' is true; drop it or set stream",
            param="stream_options",
        )
    include_usage = _boolean(options or {}, "include_usage", "stream_options.include_usage")
    logprobs = _boolean(body, "logprobs") or False
    top_logprobs = _integer(body, "top_logprobs", 0, MAX_TOP_LOGPROBS)
    if top_logprobs is not None and not logprobs:
        raise RequestError(
            "'top_logprobs' needs 'logprobs': true; set logprobs or drop top_logprobs",
            param="top_logprobs",
        )
    max_tokens = _integer(body, "max_completion_tokens", 1, None)
    if max_tokens is None:
        max_tokens = _integer(body, "max_tokens", 1, None)
    seed = _integer(body, "seed", None, None)
    tools = _tools(body.get("tools"))
    tool_choice, tool_name = _tool_choice(body.get("tool_choice"), tools)
    kwargs = body.get("chat_template_kwargs")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise _bad("chat_template_kwargs", "an object", kwargs)
    return ChatRequest(
        model=model or "",
        messages=_messages(body.get("messages")),
        stream=stream,
        include_usage=bool(include_usage),
        n=_integer(body, "n", 1, MAX_N) or 1,
        max_tokens=max_tokens,
        stop=_stop(body.get("stop")),
        logprobs=logprobs,
        top_logprobs=top_logprobs or 0,
        tools=tools,
        tool_choice=tool_choice,
        tool_name=tool_name,
        parallel_tool_calls=_boolean(body, "parallel_tool_calls") is not False,
        thinking=_boolean(kwargs or {}, "enable_thinking", "chat_template_kwargs.enable_thinking"),
        seed=seed,
        json_schema=_response_format(body.get("response_format")),
    )


def _response_format(value: object) -> Mapping[str, Any] | None:
    """The JSON schema the answer must follow: `json_schema`'s, `{}` for `json_object`."""
    kind = value.get("type") if isinstance(value, dict) else value
    if value is None or kind == "text":
        return None
    if kind == "json_object":
        return {}
    if kind != "json_schema" or not isinstance(value, dict):
        raise _bad("response_format.type", '"text", "json_object" or "json_schema"', kind)
    spec = value.get("json_schema")
    schema = spec.get("schema", {}) if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise _bad("response_format.json_schema.schema", "an object (a JSON schema)", schema)
    return schema


def _bad(param: str, expected: str, value: object) -> RequestError:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return RequestError(f"'{param}' must be {expected}, got {shown}", param=param)


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:
        raise _bad(name, f"a number from {low} to {high}", value)
    return float(value)


def _integer(body: Mapping[str, Any], name: str, low: int | None, high: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(name, "an integer", value)
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise _bad(name, f"an integer {span}", value)
    return value


def _boolean(body: Mapping[str, Any], name: str, param: str | None = None) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _bad(param or name, "true or false", value)
    return value


def _stop(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _bad("stop", "a string or a list of strings", value)
    # An empty stop string would match everywhere; engines ignore it, so do we.
    return tuple(item for item in items if item)


def _messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise _bad("messages", 'a non-empty list of {"role", "content"} objects', value)
    return tuple(_message(item, f"messages[{i}]") for i, item in enumerate(value))


def _message(item: object, where: str) -> Message:
    if not isinstance(item, dict):
        raise _bad(where, "an object with 'role' and 'content'", item)
    role = item.get("role")
    if role not in ROLES:
        raise _bad(f"{where}.role", f"one of {', '.join(sorted(ROLES))}", role)
    content = item.get("content")
    if content is None and role not in ("assistant", "function"):
        raise RequestError(f"'{where}.content' is required for role {role!r}", param=where)
    text = _text(content, f"{where}.content")
    tool_call_id = item.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        raise _bad(f"{where}.tool_call_id", "the string id of the tool call answered", tool_call_id)
    calls = item.get("tool_calls") if role == "assistant" else None
    if calls is not None and not isinstance(calls, list):
        raise _bad(f"{where}.tool_calls", "a list of tool calls", calls)
    parsed = tuple(
        _tool_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(calls or [])
    )
    return Message(role=role, text=text, tool_call_id=tool_call_id, tool_calls=parsed)


def _text(content: object, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _bad(where, "a string or a list of content parts", content)
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _bad(f"{where}[{i}]", "an object with a 'type'", part)
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise _bad(f"{where}[{i}].text", "a string", part.get("text"))
            texts.append(part["text"])
    return "\n".join(texts)


def _tool_call(call: object, where: str) -> ToolCallIn:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(call, dict) or not isinstance(function, dict):
        raise _bad(where, "an object with 'id', 'type' and 'function'", call)
    name, arguments = function.get("name"), function.get("arguments")
    if not isinstance(name, str) or not isinstance(arguments, str | None):
        raise _bad(f"{where}.function", '{"name": str, "arguments": str}', function)
    call_id = call.get("id")
    return ToolCallIn(
        id=call_id if isinstance(call_id, str) else "", name=name, arguments=arguments or ""
    )


def _tools(value: object) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _bad("tools", 'a list of {"type": "function", "function": {...}} objects', value)
    specs = []
    for i, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(function, dict)
        ):
            raise _bad(f"tools[{i}]", '{"type": "function", "function": {"name": ...}}', tool)
        name, parameters = function.get("name"), function.get("parameters") or {}
        if not isinstance(name, str) or not name:
            raise _bad(f"tools[{i}].function.name", "a non-empty string", name)
        if not isinstance(parameters, dict):
            raise _bad(f"tools[{i}].function.parameters", "a JSON Schema object", parameters)
        definition = json.dumps(function, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        specs.append(ToolSpec(name=name, parameters=parameters, definition=definition))
    return tuple(specs)


def _tool_choice(value: object, tools: tuple[ToolSpec, ...]) -> tuple[str, str | None]:
    if value is None:
        return ("auto" if tools else "none"), None
    if isinstance(value, str) and value in TOOL_CHOICE_MODES:
        if value == "required" and not tools:
            raise RequestError(
                "tool_choice 'required' needs a non-empty 'tools'", param="tool_choice"
            )
        return value, None
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(value, dict) or value.get("type") != "function" or not isinstance(name, str):
        expected = (
            '\'none\', \'auto\', \'required\' or {"type": "function", "function": {"name": ...}}'
        )
        raise _bad("tool_choice", expected, value)
    if name not in {tool.name for tool in tools}:
        raise RequestError(
            f"tool_choice names the function {name!r}, which is not in 'tools'; add it to tools",
            param="tool_choice",
        )
    return "named", name
