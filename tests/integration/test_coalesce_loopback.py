"""stream_coalesce over real sockets (emulator + reference, 20 ms per token): a consumer that
falls behind gets fewer chunks with the same answer; read-ahead never outlives its stream."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import litellm
import pytest

pytestmark = pytest.mark.asyncio
PROMPT = [{"role": "user", "content": " ".join(["w"] * 40)}]
LONG = [{"role": "user", "content": " ".join(["w"] * 220)}]  # 4 s of tokens: outlives the test


def _readers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "ReadAhead._read" in repr(t.get_coro())]


async def _read(call_kwargs: dict[str, Any], coalesce: bool, pause: float) -> list[Any]:
    stream = await litellm.acompletion(
        model="sagemaker_openai/demo-endpoint", messages=PROMPT, stream=True, max_tokens=30,
        stream_options={"include_usage": True}, stream_coalesce=coalesce, **call_kwargs,
    )  # fmt: skip
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
        await asyncio.sleep(pause)  # a consumer busy with other streams
    return chunks


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def test_a_consumer_that_falls_behind_gets_merged_chunks(call_kwargs: dict[str, Any]) -> None:
    plain = await _read(call_kwargs, coalesce=False, pause=0.06)
    merged = await _read(call_kwargs, coalesce=True, pause=0.06)
    assert _text(merged) == _text(plain) and len(_text(plain).split()) == 30
    assert len(merged) < len(plain) * 2 / 3  # three tokens arrive per 60 ms pause
    assert merged[-1].usage.completion_tokens == plain[-1].usage.completion_tokens == 30
    assert not _readers()


async def test_closing_or_dropping_a_stream_stops_its_reader(call_kwargs: dict[str, Any]) -> None:
    for ending in ("aclose", "drop", "cancel"):
        stream = await litellm.acompletion(
            model="sagemaker_openai/demo-endpoint", messages=LONG, stream=True,
            max_tokens=200, stream_coalesce=True, **call_kwargs,
        )  # fmt: skip
        await stream.__anext__()
        if ending == "aclose":
            await stream.aclose()
        elif ending == "cancel":
            task = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await stream.aclose()
        del stream
        gc.collect()
        for _ in range(50):  # the reader ends within 1 s, not at the end of the answer
            if not _readers():
                break
            await asyncio.sleep(0.02)
        assert not _readers(), ending
