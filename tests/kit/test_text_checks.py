"""The checks of streamed text against containers that split bytes in legal and illegal ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance._engine._context import CheckContext
from conformance._engine._registry import Outcome
from conformance._engine._runner import run_check
from conformance._wire._serve import serve_app
from conformance._wire._target import Target
from conformance.checks import select_checks

CHECKS = {c.id: c for c in select_checks()}


def _chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [choice]}  # fmt: skip
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def _container(writes: list[bytes]) -> Starlette:
    async def chat(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for data in writes:
                yield data
                await asyncio.sleep(0.01)  # one network read per write, not one coalesced read

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def outcome_of(writes: list[bytes]) -> Outcome:
    with serve_app(_container(writes)) as url:
        ctx = CheckContext(Target.direct(url))
        try:
            return run_check(CHECKS["chunk.whole_characters"], ctx).outcome
        finally:
            ctx.close()


def _stream(*deltas: str) -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""})]
    parts += [_chunk({"content": delta}) for delta in deltas]
    return b"".join([*parts, _chunk({}, "stop"), b"data: [DONE]\n\n"])


def test_a_character_split_across_network_reads_passes() -> None:
    stream = _stream("h", "éllo 👋 你好")
    cut = stream.index("👋".encode()) + 2  # inside the emoji's four bytes
    assert outcome_of([stream[:cut], stream[cut:]]) is Outcome.PASSED


def test_a_character_cut_into_replacement_halves_fails() -> None:
    halves = "é".encode()[:1].decode(errors="replace"), "é".encode()[1:].decode(errors="replace")
    assert outcome_of([_stream("h" + halves[0], halves[1] + "llo")]) is Outcome.FAILED
