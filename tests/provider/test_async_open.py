"""How an async stream is opened: on the caller's loop, before ``acompletion`` returns.

``astreaming`` runs in LiteLLM's executor thread. The loop-capture hook tells it which loop
awaited the call; the stream is opened there and errors raise from the ``await`` itself. The
hook is not a logger: it takes itself out of LiteLLM's logging lists, whose mere membership
costs a 1-3 s import on the loop when ``litellm_enterprise`` is installed.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, MESSAGES, chunk, sse

from litellm_sagemaker_openai import _caller
from litellm_sagemaker_openai._caller import LOGGING_LISTS, LOOP_CAPTURE, Caller

SSE_HEADERS = {"content-type": "text/event-stream"}


def _ok(mock: respx.MockRouter) -> respx.Route:
    body = sse(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop"))
    return mock.post(EP_URL).respond(200, content=body, headers=SSE_HEADERS)


async def _text(**kwargs: Any) -> str:
    out = await litellm.acompletion(
        model="sagemaker_openai/ep", messages=MESSAGES, stream=True, **CREDS, **kwargs
    )
    return "".join([c.choices[0].delta.content or "" async for c in out if c.choices])


def test_the_hook_stays_a_hook_and_leaves_every_logging_list() -> None:
    with respx.mock() as mock:
        _ok(mock)
        assert asyncio.run(_text()) == "hi"
        assert "".join(
            c.choices[0].delta.content or ""
            for c in litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, stream=True, **CREDS
            )
            if c.choices
        )
    assert LOOP_CAPTURE in litellm.callbacks
    listed = [name for name in LOGGING_LISTS if LOOP_CAPTURE in getattr(litellm, name)]
    assert listed == [], f"LoopCapture is still in litellm.{listed}"


def test_an_error_before_the_first_byte_raises_from_the_await() -> None:
    async def run() -> BaseException:
        with respx.mock() as mock:
            mock.post(EP_URL).respond(429, json={"message": "slow down"})
            try:
                await litellm.acompletion(
                    model="sagemaker_openai/ep", messages=MESSAGES, stream=True, **CREDS
                )
            except litellm.RateLimitError as exc:
                return exc
        raise AssertionError("the 429 did not raise from acompletion(stream=True)")

    assert isinstance(asyncio.run(run()), litellm.RateLimitError)


def test_without_the_hook_the_stream_opens_on_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy config can replace litellm.callbacks: the call still streams (lazily), and the
    hook is put back for the next call."""
    monkeypatch.setattr(litellm, "callbacks", [])
    with respx.mock() as mock:
        _ok(mock)
        assert asyncio.run(_text()) == "hi"
    assert LOOP_CAPTURE in litellm.callbacks


def test_a_value_copied_from_another_call_is_not_trusted() -> None:
    loop = asyncio.new_event_loop()
    try:
        caller = Caller("call-a", loop, None)
        assert not caller.can_wait("call-b")  # a context copied into another task
        assert not caller.can_wait("call-a")  # the loop is not running
    finally:
        loop.close()
    assert not Caller("call-a", loop, None).can_wait("call-a")  # closed


def test_a_thread_running_its_own_loop_never_blocks_on_another() -> None:
    """If a LiteLLM release ever called astreaming on a loop thread, waiting there for another
    loop could deadlock: that thread must take the lazy path."""
    other = asyncio.new_event_loop()
    runner = threading.Thread(target=other.run_forever, daemon=True)
    runner.start()
    try:
        caller = Caller("id", other, None)

        async def on_a_loop() -> bool:
            return caller.can_wait("id")

        assert asyncio.run(on_a_loop()) is False
        assert caller.can_wait("id") is True  # a plain worker thread may wait
    finally:
        other.call_soon_threadsafe(other.stop)
        runner.join(5)
        other.close()


def test_the_caller_is_recorded_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str | None, bool]] = []
    real = Caller.can_wait

    def spy(self: Caller, call_id: str | None) -> bool:
        result = real(self, call_id)
        seen.append((call_id, result))
        return result

    monkeypatch.setattr(_caller.Caller, "can_wait", spy)
    with respx.mock() as mock:
        _ok(mock)

        async def two() -> list[str]:
            return [await _text(), await _text()]

        assert asyncio.run(two()) == ["hi", "hi"]
    assert len(seen) == 2 and all(ok for _, ok in seen)
    assert seen[0][0] != seen[1][0], "both calls saw the same call id"


def test_a_finished_callers_task_is_freed_without_the_garbage_collector() -> None:
    # The Caller sits in the task's own context; holding the task strongly made a cycle, so
    # every finished request's task (and what it referenced) waited for a full collection,
    # whose pause stalls every stream of a proxy worker.
    async def run() -> int:
        refs = []
        for _ in range(3):
            task = asyncio.create_task(_text())
            assert await task == "hi"
            refs.append(weakref.ref(task))
            del task
        await asyncio.sleep(0.05)  # LiteLLM's success logging runs after the last chunk
        return sum(ref() is not None for ref in refs)

    with respx.mock() as mock:
        _ok(mock)
        gc.collect()
        gc.disable()
        try:
            alive = asyncio.run(run())
        finally:
            gc.enable()
    assert alive == 0, f"{alive} of 3 finished caller tasks are kept alive by a reference cycle"
