"""A no-I/O CustomLLM: LiteLLM's own cost for a stream, the floor under any provider.

Its ``astreaming`` yields the reference container's chunk sequence (role, tokens paced by
the inter-token gap, finish, usage) as ``ModelResponseStream`` objects built from dicts,
as the plugin does, but with no socket, no SSE and no token. Whatever event-loop lag,
threads or CPU a burst of these shows is LiteLLM's, not a provider's.

A proxy loads it as ``custom_handler: bench._floor.handler``: that instance paces by
``$BENCH_FLOOR_ITL_MS`` and stamps each chunk's ``sent_at`` as the reference container does,
so ``proxy_capacity`` can measure a proxy worker's cost per chunk with no provider at all.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

PROVIDER: Final = "bench_floor"
MODEL: Final = f"{PROVIDER}/floor"


def install(itl_s: float) -> None:
    """Register the floor provider with LiteLLM (idempotent)."""
    import litellm

    if not any(e.get("provider") == PROVIDER for e in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": make(itl_s)})


def __getattr__(name: str) -> Any:
    """``handler``, for a proxy's ``custom_provider_map`` (LiteLLM imported only then)."""
    if name == "handler":
        return make(float(os.environ.get("BENCH_FLOOR_ITL_MS", "20")) / 1e3, stamp=True)
    raise AttributeError(name)


def make(itl_s: float, stamp: bool = False) -> Any:
    """A floor CustomLLM instance; ``stamp`` adds ``sent_at`` (epoch seconds) to each chunk."""
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import GenericStreamingChunk, ModelResponseStream

    class Floor(CustomLLM):
        async def astreaming(self, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
            tokens = int(kwargs["optional_params"].get("max_tokens", 8))
            base: dict[str, Any] = {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": "reference-model",
                "system_fingerprint": "fp_reference",
            }

            def chunk(delta: dict[str, Any], finish: str | None = None) -> Any:
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                extra = {"sent_at": time.time()} if stamp else {}
                return ModelResponseStream(**{**base, **extra, "choices": [choice]})

            yield chunk({"role": "assistant", "content": ""})
            for number in range(tokens):
                if number:
                    await asyncio.sleep(itl_s)
                yield chunk({"content": " w"})
            yield chunk({}, "length")
            usage: Any = {
                "prompt_tokens": 20,
                "completion_tokens": tokens,
                "total_tokens": 20 + tokens,
            }
            yield GenericStreamingChunk(
                text="",
                tool_use=None,
                is_finished=True,
                finish_reason="length",
                usage=usage,
                index=0,
            )

    return Floor()
