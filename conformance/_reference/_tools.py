"""Deterministic tool use: which tools to call, their JSON arguments, answers to tool results."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from conformance._reference._types import ChatRequest, Message, ToolSpec

ASSIGNMENT: Final = re.compile(r"""(?<![\w-])([A-Za-z_]\w*)=(?:"([^"]*)"|'([^']*)'|(\S+))""")
TRAILING_PUNCTUATION: Final = ".,;:!?"
MAX_SCHEMA_DEPTH: Final = 8


def last_user_text(messages: tuple[Message, ...]) -> str:
    """The text of the last `user` message, or "" when there is none."""
    return next((m.text for m in reversed(messages) if m.role == "user"), "")


def choose_tools(request: ChatRequest) -> tuple[ToolSpec, ...]:
    """The tools to call, in call order; empty means answer with text.

    Rules: "none" never calls. A named tool_choice calls that tool. "required" calls the tools
    the last user message names, or else the first tool. "auto" calls the named tools only when
    the conversation ends with a user message (so a tool result is answered in text).
    `parallel_tool_calls: false` keeps only the first call.
    """
    if request.tool_choice == "none" or not request.tools:
        return ()
    if request.tool_choice == "named":
        return tuple(tool for tool in request.tools if tool.name == request.tool_name)[:1]
    ends_with_user = request.messages[-1].role == "user"
    named = (
        mentioned_tools(request.tools, last_user_text(request.messages)) if ends_with_user else ()
    )
    if request.tool_choice == "required" and not named:
        named = request.tools[:1]
    return named if request.parallel_tool_calls else named[:1]


def mentioned_tools(tools: tuple[ToolSpec, ...], text: str) -> tuple[ToolSpec, ...]:
    """Tools whose name appears in `text` as a whole word (any case), in order of appearance."""
    found = []
    for tool in tools:
        pattern = rf"(?<![\w-]){re.escape(tool.name)}(?![\w-])"
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            found.append((match.start(), tool))
    return tuple(tool for _, tool in sorted(found, key=lambda pair: pair[0]))


def build_arguments(tool: ToolSpec, text: str) -> str:
    """Compact JSON arguments for `tool`, derived from its parameters schema and the user text.

    A `name=value` (or `name="a value"`) in the text sets the top-level property `name`,
    coerced to its schema type. Other required properties get a default: `const`, else the
    first `enum` value, else `default`, else by type: string -> the user text, integer/number
    -> `minimum` or 0, boolean -> false, array -> `minItems` defaults, object -> its own
    required properties, null -> null. Optional properties not named in the text are left out.
    """
    properties = tool.parameters.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = tool.parameters.get("required")
    required = (
        [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    )
    assigned = _assignments(text)
    arguments: dict[str, Any] = {}
    for name in [*properties, *(name for name in required if name not in properties)]:
        schema = properties.get(name)
        schema = schema if isinstance(schema, dict) else {}
        if name in assigned:
            arguments[name] = _coerce(assigned[name], schema, text)
        elif name in required:
            arguments[name] = _default(schema, text, 0)
    return json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)


def tool_result_reply(messages: tuple[Message, ...]) -> str | None:
    """The answer to trailing `tool` messages: `Result of NAME: CONTENT` per result, or None."""
    results: list[Message] = []
    for message in reversed(messages):
        if message.role != "tool":
            break
        results.insert(0, message)
    if not results:
        return None
    names = {call.id: call.name for m in messages for call in m.tool_calls if call.id}
    parts = []
    for result in results:
        name = names.get(result.tool_call_id or "") or result.tool_call_id or "tool"
        parts.append(f"Result of {name}: {result.text}")
    return " ".join(parts)


def _assignments(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for match in ASSIGNMENT.finditer(text):
        name, double, single, bare = match.groups()
        quoted = double if double is not None else single
        values.setdefault(name, quoted if quoted is not None else bare.rstrip(TRAILING_PUNCTUATION))
    return values


def _schema_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    return "string"


def _first_option(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], dict):
            return _first_option(options[0])
    return schema


def _coerce(value: str, schema: Mapping[str, Any], text: str) -> Any:
    kind = _schema_type(_first_option(schema))
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return _default(schema, text, 0)
    if kind == "boolean":
        return value.lower() in ("true", "yes", "1", "on")
    if kind in ("array", "object"):
        try:
            return json.loads(value)
        except ValueError:
            return _default(schema, text, 0)
    return value


def _default(schema: Mapping[str, Any], text: str, depth: int) -> Any:
    schema = _first_option(schema)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    kind = _schema_type(schema)
    if kind == "string":
        return text
    if kind in ("integer", "number"):
        minimum = schema.get("minimum", 0)
        minimum = (
            minimum if isinstance(minimum, int | float) and not isinstance(minimum, bool) else 0
        )
        return int(minimum) if kind == "integer" else float(minimum)
    if kind == "boolean":
        return False
    if kind == "null" or depth >= MAX_SCHEMA_DEPTH:
        return None
    if kind == "array":
        items = schema.get("items")
        count = schema.get("minItems", 0)
        count = count if isinstance(count, int) and not isinstance(count, bool) else 0
        item_schema = items if isinstance(items, dict) else {}
        return [_default(item_schema, text, depth + 1) for _ in range(min(count, 16))]
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    required = required if isinstance(required, list) else []
    return {
        name: _default(_as_schema(properties.get(name)), text, depth + 1)
        for name in required
        if isinstance(name, str)
    }


def _as_schema(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
