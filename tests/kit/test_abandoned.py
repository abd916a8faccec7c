"""container.stops_abandoned without /metrics: judged from the next answer of a serial server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance._engine._context import CheckContext
from conformance._engine._registry import Outcome
from conformance._engine._runner import run_check
from conformance._wire._serve import serve_app
from conformance._wire._target import Target
from conformance.checks import select_checks

CHECK = select_checks(select="container.stops_abandoned")[0]
STEPS, STEP_S = 300, 0.01  # 3 s of generation: three times the check's 1 s allowance
EVENT = b'data: {"choices": [{"index": 0, "delta": {"content": "12345678 "}}]}\n\n'


def serial_server(*, careless: bool) -> Starlette:
    """One request at a time (one lock, as a GPU with a batch of one); no /metrics."""
    lock = asyncio.Lock()

    async def generate(steps: int) -> None:
        try:
            for _ in range(steps):
                await asyncio.sleep(STEP_S)
        finally:
            lock.release()

    async def chat(request: Request) -> Response:
        if not (await request.json()).get("stream"):
            async with lock:
                return JSONResponse({"choices": [{"message": {"content": "ok"}}]})
        await lock.acquire()

        async def events() -> AsyncIterator[bytes]:
            sent = 0
            try:
                while sent < STEPS:
                    yield EVENT
                    sent += 1
                    await asyncio.sleep(STEP_S)
                lock.release()
            except BaseException:  # the client left: cancelled mid-stream
                if careless:  # the rest is generated anyway, for nobody
                    asyncio.get_running_loop().create_task(generate(STEPS - sent))
                else:
                    lock.release()
                raise

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.mark.parametrize(("careless", "outcome"), [(False, Outcome.PASSED), (True, Outcome.FAILED)])
def test_the_next_answer_shows_a_generation_kept_running(careless: bool, outcome: Outcome) -> None:
    with serve_app(serial_server(careless=careless)) as url:
        ctx = CheckContext(Target.direct(url))
        try:
            result = run_check(CHECK, ctx)
        finally:
            ctx.close()
    assert result.outcome is outcome, result.message
    assert ("no /metrics gauge" in result.message) is not careless
