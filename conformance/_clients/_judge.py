"""From what a client got to a verdict per step: the drivers observe, this one place judges.

A step is broken when the client raised (its own exception is the detail), hung, or silently
lost what the user asked for: the text, the tool call, the usage. A stream whose text differs
from the same request's answer without streaming is the wrong text.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .._engine._matrix import STEPS, Step

DETAIL_CHARS: Final = 300


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _tokens(usage: Any) -> tuple[Any, Any]:
    if not isinstance(usage, dict):
        return None, None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    return prompt, completion


def _counted(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tool_call(obs: dict[str, Any], tool: str) -> tuple[bool, str]:
    for call in obs.get("tool_calls") or []:
        if call.get("name") != tool:
            continue
        try:
            arguments = json.loads(call.get("arguments") or "")
        except ValueError:
            return False, f"the tool call's arguments are not JSON: {_short(call.get('arguments'))}"
        if isinstance(arguments, dict):
            return True, f"{tool}({json.dumps(arguments, ensure_ascii=False)})"[:DETAIL_CHARS]
        return False, f"the tool call's arguments are not a JSON object: {_short(arguments)}"
    names = [c.get("name") for c in obs.get("tool_calls") or []]
    if names:
        return False, f"lost the tool call: it called {names}, not {tool!r}"
    text = obs.get("text")
    if text:
        return False, f"lost the tool call: the answer came as text {_short(text)}"
    return False, "lost the tool call: no tool call and no text"


def _followup(obs: dict[str, Any]) -> tuple[bool, str]:
    # Small models answer the tool result with the tool again: an answer all the same.
    if obs.get("text"):
        return True, _short(obs["text"])
    names = [c.get("name") for c in obs.get("tool_calls") or []]
    if names:
        return True, f"answered the tool result with another tool call: {_short(names)}"
    return False, "no answer to the tool result"


def judge(observed: dict[str, dict[str, Any]], *, tool: str, timeout: float) -> tuple[Step, ...]:
    """One Step per scripted step the driver reported, in the script's order."""
    steps: list[Step] = []
    answered: str | None = None
    for name in STEPS:
        obs = observed.get(name)
        if obs is None:
            continue
        seconds = float(obs.get("seconds") or 0.0)
        text = obs.get("text")
        if obs.get("hung"):
            ok, detail = False, f"hung: no end within {timeout:g} s"
        elif obs.get("error"):
            ok, detail = False, str(obs["error"])[:DETAIL_CHARS]
        elif name == "tool_call":
            ok, detail = _tool_call(obs, tool)
        elif name == "followup":
            ok, detail = _followup(obs)
        elif name == "usage":
            prompt, completion = _tokens(obs.get("usage"))
            # Every answer has at least one completion token: zeros are usage lost, not counted.
            ok = _counted(prompt) and _counted(completion) and completion > 0
            detail = (
                f"{prompt} prompt + {completion} completion tokens"
                if ok
                else "lost the usage: include_usage was asked, the client reports "
                + _short(obs.get("usage"))
            )
        elif not isinstance(text, str) or not text:
            ok, detail = False, f"lost the text: the client got {_short(text)}"
        elif name == "stream" and answered is not None and text != answered:
            ok = False
            detail = (
                f"wrong text: streamed {_short(text)}, while the same request without "
                f"streaming answered {_short(answered)}"
            )
        else:
            ok, detail = True, _short(text)
        if name == "answer" and ok:
            answered = text
        steps.append(Step(name, ok, detail, seconds))
    return tuple(steps)
