"""A no-I/O CustomLLM: LiteLLM's own cost for a stream, the floor under any provider.

Its ``astreaming`` yields the reference container's chunk sequence (role, tokens paced by
the inter-token gap, finish, usage) as ``ModelResponseStream`` objects built from dicts,
as the plugin does, but with no socket, no SSE and no token. Whatever event-loop lag,
threads or CPU a burst of these shows is LiteLLM's, not a provider's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

PROVIDER: Final = "bench_floor"
MODEL: Final = f"{PROVIDER}/floor"


def install(itl_s: float) -> None:
    """Register the floor provider with LiteLLM (idempotent)."""
    import litellm
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
                return ModelResponseStream(**{**base, "choices": [choice]})

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

    if not any(e.get("provider") == PROVIDER for e in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": Floor()})
