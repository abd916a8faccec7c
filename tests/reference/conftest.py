"""Fixtures for the reference container tests: an in-process client factory and SSE parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from conformance._reference import ReferenceConfig, create_reference_app

DONE = "[DONE]"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string"}, "hours": {"type": "integer"}},
            "required": ["zone", "hours"],
        },
    },
}


class Reference:
    """Helpers shared by the reference tests (exposed through the `ref` fixture)."""

    done = DONE
    weather_tool = WEATHER_TOOL
    time_tool = TIME_TOOL

    @asynccontextmanager
    async def client(self, **config: Any) -> AsyncIterator[httpx.AsyncClient]:
        """An httpx client talking to a fresh reference app in-process."""
        app = create_reference_app(ReferenceConfig(**config))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reference") as client:
            yield client

    @staticmethod
    def body(text: str = "Say OK", **fields: Any) -> dict[str, Any]:
        """A chat body with one user message; `fields` are added or override."""
        return {"model": "", "messages": [{"role": "user", "content": text}], **fields}

    @staticmethod
    def events(raw: str) -> list[Any]:
        """Parse SSE strictly: only `data: <one-line JSON or [DONE]>` events, blank-line ended."""
        assert raw.endswith("\n\n"), f"stream does not end on a blank line: {raw[-40:]!r}"
        parsed: list[Any] = []
        for block in raw[:-2].split("\n\n"):
            assert block.startswith("data: ") and "\n" not in block, f"bad SSE event {block!r}"
            data = block[len("data: ") :]
            parsed.append(data if data == DONE else json.loads(data))
        return parsed

    def chunks(self, raw: str) -> list[dict[str, Any]]:
        """The JSON chunks of a well-formed stream (which must end with exactly one [DONE])."""
        events = self.events(raw)
        assert events[-1] == DONE and events.count(DONE) == 1, events[-3:]
        return events[:-1]

    @staticmethod
    def per_choice(chunks: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
        """The stream's choice entries grouped by choice index, in order."""
        grouped: dict[int, list[dict[str, Any]]] = {}
        for chunk in chunks:
            for choice in chunk["choices"]:
                grouped.setdefault(choice["index"], []).append(choice)
        return grouped

    @staticmethod
    def content(choices: list[dict[str, Any]]) -> str:
        """The concatenated `delta.content` of one choice's stream entries."""
        return "".join(c["delta"].get("content") or "" for c in choices)


@pytest.fixture
def ref() -> Reference:
    return Reference()
