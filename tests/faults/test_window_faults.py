"""Faults in the middle of a coalescing window (``stream_coalesce_ms``), through LiteLLM.

The container sends the first chunk, then two tokens that the window holds (1 s, longer than
the test), then the fault: a connection cut inside the chunked body, or an error frame. The
caller must get the held tokens first, then the error (a cut is a connection error, as
without the window); no connection stays in use, and no finish is reported.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import litellm
import pytest
from faults.faults_calls import assert_failed, call
from faults.faults_support import PARTIAL, Conn, Hit, chunk, event, loopback

SSE = {"content-type": "text/event-stream"}
ERROR_FRAME = event(json.dumps({"error": {"message": "boom", "type": "server_error", "code": 500}}))


def _serve(fault: str) -> Any:
    async def handler(hit: Hit, conn: Conn) -> None:
        await conn.head(200, SSE, chunked=True)
        await conn.write(PARTIAL)  # the first chunk goes at once; "partial " is held
        await asyncio.sleep(0.05)
        await conn.write(event(chunk({"content": "answer"})))  # held with it
        await asyncio.sleep(0.05)
        if fault == "cut":
            conn.cut()
        else:
            await conn.write(ERROR_FRAME)
            await conn.hang()

    return handler


@pytest.mark.parametrize(
    ("fault", "cls"),
    [("cut", litellm.APIConnectionError), ("error-frame", litellm.InternalServerError)],
)
def test_a_fault_mid_window_comes_after_the_held_tokens(
    fault: str, cls: type[Exception], sync: bool
) -> None:
    with loopback(_serve(fault)) as server:
        out = call(server.url, sync=sync, stream=True, stream_coalesce_ms=1000)
    assert_failed(out, cls, wrapped=True)
    assert out.text == "partial answer"
