"""The merge rules of the coalescing window (``_window``): several stream chunks as one.

A LiteLLM proxy pays a fixed CPU cost per chunk it forwards, whatever the chunk holds; merging
the events of one window into one chunk pays that cost once.

Merging is exact: concatenating the deltas of the merged chunks gives the same message as
concatenating the originals (content, reasoning and refusal text concatenated, logprobs lists
joined, tool-call fragments joined per ``index``, the last ``finish_reason``). Anything that
a client could read differently is never merged: chunks with different ids, models or
choice indices, a chunk with several choices, a usage or error payload, a new ``role``, a
second value for a field a client keeps once (a tool call's ``id``/``name``/``type``, or
any field this module does not know), and anything after a ``finish_reason``.
"""

from __future__ import annotations

from typing import Any, Final

# Delta fields whose fragments a client concatenates.
TEXT_KEYS: Final = frozenset({"content", "reasoning_content", "reasoning", "refusal"})
# Top-level fields that must be equal for two chunks to merge; the others are the first's.
SAME_KEYS: Final = ("id", "object", "model", "system_fingerprint")
# Choice fields merged by rule; any other choice field may be set in one chunk only.
CHOICE_KEYS: Final = frozenset({"index", "delta", "logprobs", "finish_reason"})


def coalesce_chunks(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge each run of consecutive mergeable chunks into its first chunk (mutated)."""
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        if out and mergeable(out[-1], chunk):
            merge(out[-1], chunk)
        else:
            out.append(chunk)
    return out


def _choice(chunk: dict[str, Any]) -> dict[str, Any] | None:
    choices = chunk.get("choices")
    if isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict):
        return choices[0]
    return None


def _dict(value: Any) -> dict[str, Any] | None:
    """``value`` if it is a dict, ``{}`` for None, else None (not mergeable)."""
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def _once(into: dict[str, Any], key: str, value: Any) -> bool:
    # A field a client keeps once (or would concatenate, or add up) may be set on one side only.
    return value is None or into.get(key) is None


def mergeable(first: dict[str, Any], then: dict[str, Any]) -> bool:
    """Whether ``then`` can be folded into ``first`` without changing what a client builds."""
    if first.get("usage") is not None or then.get("usage") is not None:
        return False
    if "error" in first or "error" in then:
        return False
    if any(first.get(key) != then.get(key) for key in SAME_KEYS):
        return False
    a, b = _choice(first), _choice(then)
    if a is None or b is None or a.get("index") != b.get("index"):
        return False
    if a.get("finish_reason") is not None:
        return False
    if not all(_once(a, key, value) for key, value in b.items() if key not in CHOICE_KEYS):
        return False
    da, db = _dict(a.get("delta")), _dict(b.get("delta"))
    if da is None or db is None or db.get("role") is not None:
        return False
    for key, value in db.items():
        if value is None:
            continue
        if key in TEXT_KEYS:
            if not isinstance(value, str) or not isinstance(da.get(key, ""), (str, type(None))):
                return False
        elif key == "tool_calls":
            if not _tools_mergeable(da.get("tool_calls"), value):
                return False
        elif not _once(da, key, value):
            return False
    return _logprobs_mergeable(a.get("logprobs"), b.get("logprobs"))


def _logprobs_mergeable(a: Any, b: Any) -> bool:
    if b is None or a is None:
        return b is None or isinstance(b, dict)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    return all(
        value is None or (isinstance(value, list) and isinstance(a.get(key), (list, type(None))))
        for key, value in b.items()
    )


def _tools_mergeable(a: Any, b: Any) -> bool:
    """Fragments join per integer ``index``; id, type and name may each come once per call."""
    if a is None:
        a = []
    if not isinstance(a, list) or not isinstance(b, list):
        return False
    seen: dict[int, set[str]] = {}  # index -> the once-only fields set so far
    for fragment in [*a, *b]:
        if not isinstance(fragment, dict) or type(fragment.get("index")) is not int:
            return False
        function = _dict(fragment.get("function"))
        if function is None or not isinstance(function.get("arguments", ""), (str, type(None))):
            return False
        fields = {k for k, v in fragment.items() if v is not None} - {"index", "function"}
        fields |= {f"function.{k}" for k, v in function.items() if v is not None}
        fields.discard("function.arguments")
        taken = seen.setdefault(fragment["index"], set())
        if fields & taken:
            return False
        taken |= fields
    return True


def merge(first: dict[str, Any], then: dict[str, Any]) -> None:
    """Fold ``then`` into ``first``; call only when :func:`mergeable` said yes."""
    for key, value in then.items():
        if key not in first:
            first[key] = value
    a, b = first["choices"][0], then["choices"][0]
    for key, value in b.items():
        if key not in CHOICE_KEYS and value is not None:
            a[key] = value
    if a.get("delta") is None:
        a["delta"] = {}
    delta = a["delta"]
    for key, value in (b.get("delta") or {}).items():
        if value is None:
            continue
        if key in TEXT_KEYS:
            delta[key] = (delta.get(key) or "") + value
        elif key == "tool_calls":
            delta["tool_calls"] = _merge_tools(delta.get("tool_calls") or [], value)
        else:
            delta[key] = value
    if b.get("logprobs") is not None:
        if a.get("logprobs") is None:
            a["logprobs"] = b["logprobs"]
        else:
            for key, value in b["logprobs"].items():
                if value is not None:
                    a["logprobs"][key] = (a["logprobs"].get(key) or []) + value
    a["finish_reason"] = b.get("finish_reason")


def _merge_tools(calls: list[dict[str, Any]], fragments: list[dict[str, Any]]) -> list[Any]:
    by_index = {call["index"]: call for call in calls}
    for fragment in fragments:
        call = by_index.get(fragment["index"])
        if call is None:
            calls.append(fragment)
            by_index[fragment["index"]] = fragment
            continue
        for key, value in fragment.items():
            if key != "function" and value is not None:
                call[key] = value
        function = fragment.get("function") or {}
        if call.get("function") is None:
            call["function"] = {}
        target = call["function"]
        for key, value in function.items():
            if key == "arguments" and value is not None:
                target["arguments"] = (target.get("arguments") or "") + value
            elif value is not None:
                target[key] = value
    return calls
