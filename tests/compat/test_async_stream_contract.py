"""How LiteLLM runs ``astreaming``: the plugin opens async streams on the caller's loop from it.

LiteLLM runs ``completion()`` for ``acompletion`` in an executor thread, with a copy of the
caller's context, after awaiting each CustomLogger's ``async_pre_call_deployment_hook`` on the
caller's loop. The plugin records the loop in a ContextVar from that hook.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import litellm
from compat.compat_support import SEEN_BY_HOOK, Probe
from litellm.integrations.custom_logger import CustomLogger


class LoopRecorder(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        self.loops.append(loop)
        SEEN_BY_HOOK.set(loop)
        return None


def test_the_pre_call_hook_runs_on_the_callers_loop_and_its_context_reaches_astreaming(
    probe: Probe,
) -> None:
    recorder = LoopRecorder()
    litellm.callbacks.append(recorder)
    caller: dict[str, Any] = {}

    async def main() -> list[Any]:
        caller["loop"] = asyncio.get_running_loop()
        caller["thread"] = threading.get_ident()
        stream = await litellm.acompletion(
            model="compatprobe/ep", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return [chunk async for chunk in stream]

    chunks = asyncio.run(main())
    assert recorder.loops == [caller["loop"]], (
        "LiteLLM no longer awaits CustomLogger.async_pre_call_deployment_hook once, on the "
        f"caller's event loop, for acompletion(stream=True) (saw {len(recorder.loops)} calls); "
        "the plugin records the caller's loop there"
    )
    (call,) = probe.calls
    assert call.method == "astreaming"
    assert call.thread != caller["thread"] and not call.has_running_loop, (
        "LiteLLM no longer calls CustomLLM.astreaming in an executor thread without a running "
        "loop; the plugin's way of opening the stream on the caller's loop must change"
    )
    assert call.seen_by_hook is caller["loop"], (
        "context variables set in async_pre_call_deployment_hook no longer reach the executor "
        "thread that runs CustomLLM.astreaming (LiteLLM stopped copying the context)"
    )
    assert chunks, (
        "a plain (non-async) astreaming that returns an async iterator is no longer accepted: "
        "LiteLLM must wrap its return value as the stream"
    )


def test_astreaming_is_called_before_acompletion_returns(probe: Probe) -> None:
    # The plugin opens the HTTP request inside astreaming, so errors before the first byte
    # raise from acompletion() itself, where the Router can retry them.
    async def main() -> int:
        await litellm.acompletion(
            model="compatprobe/ep", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return len(probe.calls)

    assert asyncio.run(main()) == 1, (
        "LiteLLM no longer calls CustomLLM.astreaming before acompletion(stream=True) returns; "
        "errors opening a stream would then escape Router retries and fallbacks"
    )


def test_a_router_retries_and_falls_back_from_an_error_raised_by_a_streams_first_read(
    probe: Probe, monkeypatch: Any
) -> None:
    """An async stream whose open outlasts the plugin's brief wait is handed over with the open
    under way; its error then raises from the first read. LiteLLM 1.108 and later read that first
    chunk inside the Router's retry loop (router.py ``_aread_first_chunk``), so the Router
    retries it; every supported release falls back on it."""
    import importlib.metadata

    import litellm.utils

    monkeypatch.setattr(litellm.utils, "INITIAL_RETRY_DELAY", 0.0)
    monkeypatch.setattr(litellm.utils, "JITTER", 0.0)
    tries: list[str] = []

    async def refused(model: str) -> Any:
        tries.append(model)
        raise litellm.RateLimitError("slow down", model=model, llm_provider="compatprobe")
        yield  # an async generator: nothing is raised until the first read

    def astreaming(*args: Any, **kwargs: Any) -> Any:
        if kwargs["model"] == "bad":
            return refused(kwargs["model"])
        return Probe.astreaming(probe, *args, **kwargs)

    monkeypatch.setattr(probe, "astreaming", astreaming)
    router = litellm.Router(
        model_list=[
            {"model_name": "primary", "litellm_params": {"model": "compatprobe/bad"}},
            {"model_name": "backup", "litellm_params": {"model": "compatprobe/good"}},
        ],
        num_retries=1,
        retry_after=0,
        fallbacks=[{"primary": ["backup"]}],
    )

    async def main() -> list[Any]:
        stream = await router.acompletion(
            model="primary", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return [chunk async for chunk in stream]

    chunks = asyncio.run(main())
    assert chunks, "the Router did not fall back to the backup deployment's stream"
    version = tuple(int(p) for p in importlib.metadata.version("litellm").split(".")[:2])
    expected = 2 if version >= (1, 108) else 1
    assert len(tries) == expected, (
        f"LiteLLM {version} tried a stream that failed on its first read {len(tries)} time(s), "
        f"expected {expected}: 1.108+ read the first chunk inside the Router's retry loop, and "
        "the plugin's late stream errors rely on it (docs/provider/streaming.md)"
    )
