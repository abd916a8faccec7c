"""The Router-cycle experiment of ``bench/_router_cycle.py``, against LiteLLM's real Router.

Streams go through a ``Router`` to the no-I/O floor provider. Each test runs with the
collector disabled, so whatever is freed is freed by reference counting alone.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from bench import _floor, _router_cycle

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Any:
    from litellm import Router

    if not hasattr(Router, "_acompletion_streaming_iterator"):
        pytest.skip("this LiteLLM defines no per-stream Router class")
    # Recorded so that the patch is undone after the test, whichever way it ends.
    monkeypatch.setattr(
        Router, "_acompletion_streaming_iterator", Router._acompletion_streaming_iterator
    )
    _floor.install(0.0)
    return Router(model_list=[{"model_name": "floor", "litellm_params": {"model": _floor.MODEL}}])


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def _stream(router: Any, take: int | None) -> tuple[weakref.ref[Any], list[str]]:
    """Stream (``take`` chunks, or all), drop it; a reference to the inner stream, and errors."""
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    errors: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(str(ctx)))
    wrapper = await router.acompletion(model="floor", messages=MESSAGES, stream=True, max_tokens=3)
    inner = [
        c.cell_contents
        for c in _router_cycle.closure_cells(type(wrapper))
        if isinstance(c.cell_contents, CustomStreamWrapper) and c.cell_contents is not wrapper
    ]
    assert len(inner) == 1, "the per-stream class no longer closes over the inner stream"
    ref = weakref.ref(inner.pop())
    taken = 0
    async for _ in wrapper:
        taken += 1
        if take is not None and taken == take:
            break
    del wrapper
    for _ in range(5):  # let asyncio close an abandoned generator, and LiteLLM log
        await asyncio.sleep(0)
    return ref, errors


def test_without_the_patch_a_finished_stream_waits_for_the_collector(
    router: Any, no_collector: None
) -> None:
    ref, errors = asyncio.run(_stream(router, None))
    assert ref() is not None and not errors
    gc.collect()
    assert ref() is None


def test_with_the_patch_a_finished_stream_is_freed_at_once(router: Any, no_collector: None) -> None:
    assert _router_cycle.install() and _router_cycle.install()  # idempotent
    ref, errors = asyncio.run(_stream(router, None))
    assert ref() is None and not errors


def test_with_the_patch_an_abandoned_stream_still_closes_cleanly(
    router: Any, no_collector: None
) -> None:
    assert _router_cycle.install()
    ref, errors = asyncio.run(_stream(router, 1))
    assert not errors  # its generator's finally ran with the cells intact
    gc.collect()
    assert ref() is None


def test_other_classes_have_no_cells_to_clear() -> None:
    assert _router_cycle.closure_cells(dict) == []
