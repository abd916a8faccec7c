"""stream_coalesce_ms over real sockets (emulator + reference, a token every 20 ms), direct and
through a Router deployment to a hostname.

On against off gives the same answer (text, tool calls, usage) from fewer chunks, sync and
async; a caller that leaves mid-window, by cancelling (async) or by dropping the stream
(sync), leaves no reader task and no connection in use.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import litellm
import pytest
from faults.faults_support import async_pool_problems, sync_pool_problems

PROMPT = [{"role": "user", "content": " ".join(["w"] * 40)}]
LONG = [{"role": "user", "content": " ".join(["w"] * 220)}]  # 4 s of tokens: outlives the test
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip
REQUESTS = {
    "text": {"messages": PROMPT, "max_tokens": 30},
    "tools": {"messages": [{"role": "user", "content": "weather in Paris"}], "tools": [WEATHER],
              "tool_choice": "required"},
}  # fmt: skip


def _readers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "ReadAhead._read" in repr(t.get_coro())]


def _args(call_kwargs: dict[str, Any], window: float, request: dict[str, Any]) -> dict[str, Any]:
    return {"model": "sagemaker_openai/demo-endpoint", "stream": True,
            "stream_options": {"include_usage": True}, "stream_coalesce_ms": window,
            **request, **call_kwargs}  # fmt: skip


def _answer(chunks: list[Any]) -> dict[str, Any]:
    built = litellm.stream_chunk_builder(chunks).model_dump(exclude={"id", "created"})
    for choice in built["choices"]:
        for call in choice["message"].get("tool_calls") or []:
            call.pop("id")  # the reference mints a fresh call id per request
            call.pop("index", None)
    return built


@pytest.mark.parametrize("kind", list(REQUESTS))
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_on_and_off_give_the_same_answer_from_fewer_chunks(
    call_kwargs: dict[str, Any], sync: bool, kind: str
) -> None:
    def read(window: float) -> list[Any]:
        args = _args(call_kwargs, window, REQUESTS[kind])
        if sync:
            return list(litellm.completion(**args))

        async def run() -> list[Any]:
            return [c async for c in await litellm.acompletion(**args)]

        return asyncio.run(run())

    plain, merged = read(0), read(100)
    assert _answer(merged) == _answer(plain)
    assert merged[-1].usage.completion_tokens == plain[-1].usage.completion_tokens
    if kind == "text":  # five tokens per 100 ms window; the first and the ends alone
        assert len(_answer(plain)["choices"][0]["message"]["content"].split()) == 30
        assert len(merged) < len(plain) / 2


@pytest.mark.asyncio
async def test_a_caller_that_cancels_mid_window_leaves_nothing(call_kwargs: dict[str, Any]) -> None:
    for ending in ("drop", "aclose"):
        stream = await litellm.acompletion(**_args(call_kwargs, 1000, {"messages": LONG,
                                                                       "max_tokens": 200}))  # fmt: skip
        await stream.__anext__()  # the first chunk: never held
        waiting = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.1)  # tokens arrive and are held: the window is 1 s
        assert not waiting.done() and _readers()
        waiting.cancel()  # the caller gives up on the chunk being held (a timeout, a disconnect)
        await asyncio.gather(waiting, return_exceptions=True)
        if ending == "aclose":
            await stream.aclose()
        del stream, waiting
        gc.collect()
        for _ in range(100):  # within 2 s, not at the end of the answer
            if not _readers() and not async_pool_problems():
                break
            await asyncio.sleep(0.02)
        assert not _readers(), ending
        assert not async_pool_problems(), ending


def test_a_sync_caller_that_abandons_mid_window_leaves_no_connection_in_use(
    call_kwargs: dict[str, Any],
) -> None:
    stream = litellm.completion(**_args(call_kwargs, 1000, {"messages": LONG, "max_tokens": 200}))
    first = next(stream)
    second = next(stream)  # waited out a 1 s window of held tokens
    words = [c.choices[0].delta.content or "" for c in (first, second) if c.choices]
    assert len("".join(words).split()) > 10  # about 50 tokens merged into one chunk
    del stream
    gc.collect()
    deadline = time.monotonic() + 5
    while sync_pool_problems() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sync_pool_problems()


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_router_deployment_to_a_hostname_sets_the_window(
    call_kwargs: dict[str, Any], sync: bool
) -> None:
    params = {**call_kwargs, "api_base": call_kwargs["api_base"].replace("127.0.0.1", "localhost"),
              "model": "sagemaker_openai/demo-endpoint"}  # fmt: skip
    router = litellm.Router(model_list=[
        {"model_name": "plain", "litellm_params": params},
        {"model_name": "merged", "litellm_params": {**params, "stream_coalesce_ms": 100}},
    ])  # fmt: skip

    def read(model: str) -> list[Any]:
        args = {"model": model, "stream": True, **REQUESTS["text"]}
        if sync:
            return list(router.completion(**args))

        async def run() -> list[Any]:
            return [c async for c in await router.acompletion(**args)]

        return asyncio.run(run())

    plain, merged = read("plain"), read("merged")
    assert "localhost" in params["api_base"]
    assert _answer(merged)["choices"] == _answer(plain)["choices"]
    assert len(merged) < len(plain) / 2
