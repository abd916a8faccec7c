"""The provider end to end: LiteLLM -> plugin -> emulated route -> reference container, over loopback.

The respx unit tests (tests/provider) pin every byte; these prove the same behaviour against
real servers, real tokens and real streaming timing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import litellm
import pytest

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip
MESSAGES = [{"role": "user", "content": "What is the weather in Paris"}]


def _stream(sync: bool, **kwargs: Any) -> list[Any]:
    if sync:
        return list(litellm.completion(stream=True, **kwargs))

    async def run() -> list[Any]:
        return [c async for c in await litellm.acompletion(stream=True, **kwargs)]

    return asyncio.run(run())


@pytest.mark.parametrize(
    "model", ["sagemaker_openai/demo-endpoint", "sagemaker_openai/demo-endpoint/demo-ic"]
)
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_stream_and_nonstream_agree(call_kwargs: dict[str, Any], model: str, sync: bool) -> None:
    chunks = _stream(
        sync, model=model, messages=MESSAGES, stream_options={"include_usage": True}, **call_kwargs
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if sync:
        whole = litellm.completion(model=model, messages=MESSAGES, **call_kwargs)
    else:
        whole = asyncio.run(litellm.acompletion(model=model, messages=MESSAGES, **call_kwargs))
    assert text and text == whole.choices[0].message.content
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_tool_call_streams_with_ids_and_arguments(call_kwargs: dict[str, Any], sync: bool) -> None:
    chunks = _stream(sync, model="sagemaker_openai/demo-endpoint", messages=MESSAGES, tools=[WEATHER],
                     tool_choice="required", **call_kwargs)  # fmt: skip
    built = litellm.stream_chunk_builder(chunks)
    call = built.choices[0].message.tool_calls[0]
    assert call.id and call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    assert built.choices[0].finish_reason == "tool_calls"


def test_chunks_arrive_paced_not_buffered(call_kwargs: dict[str, Any]) -> None:
    arrivals = []
    for chunk in litellm.completion(model="sagemaker_openai/demo-endpoint", stream=True, max_tokens=12,
                                    messages=[{"role": "user", "content": "one two three four five six seven eight nine ten"}],
                                    **call_kwargs):  # fmt: skip
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(gaps) >= 8
    # 20 ms between tokens at the server: a buffered stream would show ~0 gaps then one burst.
    assert sorted(gaps)[len(gaps) // 2] > 0.010


def test_unknown_test_credentials_are_refused_by_the_route(call_kwargs: dict[str, Any]) -> None:
    forged = {**call_kwargs, "aws_access_key_id": "AKIANOTKNOWNEXAMPLE1"}
    with pytest.raises(litellm.PermissionDeniedError, match="sagemaker:CallWithBearerToken"):
        litellm.completion(
            model="sagemaker_openai/demo-endpoint", messages=MESSAGES, num_retries=0, **forged
        )


def test_wrong_region_token_is_refused(call_kwargs: dict[str, Any]) -> None:
    with pytest.raises((litellm.PermissionDeniedError, litellm.AuthenticationError)):
        litellm.completion(model="sagemaker_openai/demo-endpoint", messages=MESSAGES, num_retries=0,
                           **{**call_kwargs, "aws_region_name": "eu-west-1"})  # fmt: skip


def test_context_window_error_is_typed(call_kwargs: dict[str, Any]) -> None:
    huge = [{"role": "user", "content": "word " * 20000}]
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.completion(
            model="sagemaker_openai/demo-endpoint", messages=huge, stream=True, **call_kwargs
        )


def test_many_cold_concurrent_streams_do_not_deadlock(call_kwargs: dict[str, Any]) -> None:
    """Regression: the cold mint once queued behind LiteLLM's executor workers, which it blocked."""

    async def one() -> str:
        stream = await litellm.acompletion(
            model="sagemaker_openai/demo-endpoint", stream=True, messages=MESSAGES, **call_kwargs
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    async def run() -> list[str]:
        return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(24))), timeout=60)

    texts = asyncio.run(run())  # fresh token cache (call_kwargs): every call starts cold
    assert len(set(texts)) == 1 and texts[0]
