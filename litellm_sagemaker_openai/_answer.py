"""Check the shape of what a container answered before LiteLLM's types touch it.

A ``choices`` that is not a list, a choice that is not an object, or a ``message``/``usage``
given as a string otherwise fails deep inside LiteLLM (``AttributeError``, ``TypeError``) and
reaches the caller as an ``APIConnectionError``, which the Router retries as a network fault.
Here each becomes a :class:`StreamError`, raised as ``BadGatewayError``: the container answered,
but not with an OpenAI chat completion. Only the fields LiteLLM dereferences are checked;
everything else is kept as the container sent it.
"""

from __future__ import annotations

from typing import Any, Final

from litellm.types.utils import ModelResponse, ModelResponseStream

from ._exceptions import StreamError

_USAGE_COUNTS: Final = ("prompt_tokens", "completion_tokens", "total_tokens")
_FIX: Final = (
    "it is not an OpenAI chat completion; check what the container's /v1/chat/completions returns"
)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _expect(value: object, types: tuple[type, ...], what: str) -> None:
    if value is not None and not isinstance(value, types):
        wanted = " or ".join("an object" if t is dict else "a list" for t in types)
        raise StreamError(f"the container sent {what} as {_kind(value)}, not {wanted}: {_FIX}")


def _check_usage(usage: object) -> None:
    _expect(usage, (dict,), "'usage'")
    if not isinstance(usage, dict):
        return
    for name in _USAGE_COUNTS:
        count = usage.get(name)
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise StreamError(f"the container sent usage.{name} as {_kind(count)}: {_FIX}")


def _check_choices(data: dict[str, Any], body: str) -> None:
    choices = data.get("choices")
    _expect(choices, (list,), "'choices'")
    for index, choice in enumerate(choices or ()):
        if not isinstance(choice, dict):
            raise StreamError(
                f"the container sent choices[{index}] as {_kind(choice)}, not an object: {_FIX}"
            )
        part = choice.get(body)
        _expect(part, (dict,), f"choices[{index}].{body}")
        if isinstance(part, dict):
            _expect(part.get("tool_calls"), (list,), f"choices[{index}].{body}.tool_calls")
    _check_usage(data.get("usage"))


def _built(factory: Any, data: dict[str, Any], what: str) -> Any:
    try:
        return factory(**data)
    except Exception as exc:  # LiteLLM's types raise TypeError, ValueError, pydantic errors...
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise StreamError(f"the container's {what} could not be read ({detail}): {_FIX}") from None


def drop_stated_cost(usage: object) -> None:
    """Remove a ``cost`` the container put in its usage.

    LiteLLM takes ``usage.cost`` of a stream as the price the provider stated, over the prices
    configured for the deployment: a container must not decide what its answers cost. The
    plugin states one itself for deployments priced per instance-hour (``_cost.py``).
    """
    if isinstance(usage, dict):
        usage.pop("cost", None)


def completion_response(data: object) -> ModelResponse:
    """A non-stream answer (parsed JSON) as a ModelResponse, or StreamError."""
    if not isinstance(data, dict) or "choices" not in data:
        raise StreamError(
            "the container's answer is not a chat completion (a JSON object with 'choices'); "
            "check what the container's /v1/chat/completions returns"
        )
    _check_choices(data, "message")
    drop_stated_cost(data.get("usage"))
    for choice in data["choices"]:
        message = choice.get("message") or {}
        # vLLM >= 0.16 names it "reasoning"; LiteLLM only maps that for deltas, not messages.
        if "reasoning" in message and "reasoning_content" not in message:
            message["reasoning_content"] = message.pop("reasoning")
    response: ModelResponse = _built(ModelResponse, data, "answer")
    return response


def check_chunk(data: dict[str, Any]) -> None:
    """Raise StreamError if a stream chunk's choices, deltas or usage have the wrong shape."""
    _check_choices(data, "delta")


def stream_chunk(data: dict[str, Any]) -> ModelResponseStream:
    """A checked stream chunk (usage already taken out) as a ModelResponseStream."""
    chunk: ModelResponseStream = _built(ModelResponseStream, data, "stream chunk")
    return chunk


def state_cost(response: ModelResponse, cost: float) -> None:
    """Put an instance-hour cost where LiteLLM reads a cost it need not compute.

    ``_hidden_params["response_cost"]`` is what LiteLLM's logging uses as the call's cost when
    already set (so the proxy's header and spend logs), and ``usage.cost`` is where a client of
    the proxy sees it, as OpenRouter states its own.
    """
    response._hidden_params["response_cost"] = cost
    usage = getattr(response, "usage", None)
    if usage is not None:
        usage.cost = cost
