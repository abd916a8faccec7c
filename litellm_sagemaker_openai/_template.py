"""Stream chunks built by copying a template of the same shape instead of constructing each.

LiteLLM's ``ModelResponseStream(**data)`` runs three pydantic models with custom
``__init__``s (the chunk, its choice, its delta): about 50 us a chunk on a slow core, most of
the plugin's own CPU per token, and it is paid again in a proxy for every chunk of every
stream. Within one stream, consecutive chunks nearly always differ only in their text: same
id, created, model, index, no finish_reason, no logprobs. For such a chunk, a pydantic copy
(``__copy__``) of a template that the constructor built for that shape, with the new text
put where the constructor put the template's, is the same object state at a fifth of the
cost. Anything else (finish, tool calls, logprobs, several choices, nested values) goes
through the constructor as before.

Nothing here assumes how a LiteLLM release lays out its models: the text's slot is found by
identity in what the constructor built, and a shape whose text cannot be found is never
copied. ``tests/provider/test_template.py`` compares every copy with the constructor's
object, on each LiteLLM release of the matrix.
"""

from __future__ import annotations

from typing import Any, Final

from litellm.types.utils import ModelResponseStream

from ._answer import stream_chunk

# Delta fields one of which may carry a chunk's text; ``reasoning`` is vLLM's name.
TEXT_KEYS: Final = ("content", "reasoning_content", "reasoning")
ATOMIC: Final = (str, int, float, bool, type(None))
# Shapes kept per stream: enough for n=2 streams or text alternating with reasoning.
MAX_TEMPLATES: Final = 4


class Template:
    """A chunk the constructor built, and where its delta keeps the text."""

    __slots__ = ("attr", "chunk", "key", "shape")

    def __init__(
        self, shape: dict[str, Any], chunk: ModelResponseStream, slot: tuple[str, str]
    ) -> None:
        self.shape = shape
        self.chunk = chunk
        # The delta's "__dict__" or "__pydantic_extra__", and the key the text is under there.
        self.attr, self.key = slot

    def copy_with(self, text: str) -> ModelResponseStream:
        """A copy of the template chunk with ``text`` in place of its own."""
        chunk = self.chunk.__copy__()
        private = chunk.__pydantic_private__
        if private is not None and type(private.get("_hidden_params")) is dict:
            # __copy__ shares the template's dict, which LiteLLM writes into (usage, headers).
            private["_hidden_params"] = dict(private["_hidden_params"])
        choice = self.chunk.choices[0].__copy__()
        delta = choice.delta.__copy__()
        getattr(delta, self.attr)[self.key] = text
        _set(choice, "delta", delta)
        _set(chunk, "choices", [choice])
        return chunk


def _set(model: Any, name: str, value: Any) -> None:
    # Where the constructor stored it: a declared field lives in __dict__, an extra one in
    # __pydantic_extra__ (StreamingChoices declares none of its fields).
    if name in model.__dict__:
        model.__dict__[name] = value
    else:
        model.__pydantic_extra__[name] = value


def _atomic(values: dict[str, Any], skip: str) -> bool:
    return all(isinstance(value, ATOMIC) for key, value in values.items() if key != skip)


def _text_of(data: dict[str, Any]) -> tuple[dict[str, Any], str, str] | None:
    """(delta, key, text) when ``data`` is a one-choice chunk of atomic values plus one text."""
    choices = data.get("choices")
    if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
        return None
    choice = choices[0]
    delta = choice.get("delta")
    if type(delta) is not dict or not _atomic(data, "choices") or not _atomic(choice, "delta"):
        return None
    found = None
    for key in TEXT_KEYS:
        value = delta.get(key)
        if value is not None:
            if found is not None or type(value) is not str or not value:
                return None  # two texts, or an empty one: the constructor decides
            found = key, value
    if found is None or not _atomic(delta, found[0]):
        return None
    return delta, found[0], found[1]


def _slot(chunk: ModelResponseStream, text: str) -> tuple[str, str] | None:
    """Where the constructor put ``text`` in the delta (by identity), if exactly one place."""
    delta = chunk.choices[0].delta
    places = [
        (attr, key)
        for attr in ("__dict__", "__pydantic_extra__")
        for key, value in (getattr(delta, attr) or {}).items()
        if value is text
    ]
    return places[0] if len(places) == 1 else None


class ChunkBuilder:
    """Per stream: builds each chunk from a template of its shape when it has one."""

    __slots__ = ("_templates",)

    def __init__(self) -> None:
        self._templates: list[Template] = []

    def build(self, data: dict[str, Any]) -> ModelResponseStream:
        found = _text_of(data)
        if found is None:
            return stream_chunk(data)
        delta, key, text = found
        delta[key] = None  # the shape: everything but the text
        for template in self._templates:
            if template.shape == data:
                delta[key] = text
                return template.copy_with(text)
        shape = {**data, "choices": [{**data["choices"][0], "delta": dict(delta)}]}
        delta[key] = text
        chunk = stream_chunk(data)
        slot = _slot(chunk, text)
        if slot is None:
            return chunk
        if len(self._templates) >= MAX_TEMPLATES:
            self._templates.pop(0)
        template = Template(shape, chunk, slot)
        self._templates.append(template)
        # The constructor's object stays private to the template: LiteLLM mutates the chunks
        # it is given (finish_reason, role), and a copy is what every later chunk gets too.
        return template.copy_with(text)
