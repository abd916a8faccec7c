"""Live-only checks: the real route, the AWS sample client, and how auth failures look."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any, Final

from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from .._wire._target import route_path
from ._prompts import long_body
from .sse import judge_incremental

MISSING_NAME: Final = "conformance-kit-missing"
_SIGNATURE: Final = re.compile(r"(X-Amz-Signature=)([0-9a-f]+)")


def origin(ex: Exchange) -> str:
    """Who produced an error: SageMaker (AWS JSON, x-amzn-ErrorType) or the container."""
    data = ex.json if isinstance(ex.json, dict) else {}
    if isinstance(data.get("error"), dict):
        return "the container"
    if "x-amzn-errortype" in ex.headers or "message" in data or "Message" in data:
        return "SageMaker"
    return "unknown"


@check("live.route", "MUST", modes="live", requests=5)
def through_the_route(ctx: CheckContext) -> str:
    """Non-stream and stream answers pass through the real route, and streams stay incremental.

    Why: what matters is what clients see through SageMaker: the route must deliver both kinds
    of answer, end streams with `[DONE]`, and keep them incremental.

    Fix: make the container pass in direct and mock mode first; if only the live route
    fails, check the endpoint's status, the inference component and the IAM policy.
    """
    single, stream = ctx.chat(), ctx.stream()
    for ex in (single, stream):
        if ex.status != 200:
            raise ex.failure(f"through the route: {ex.describe()} (from {origin(ex)})")
    if not any(e.data == "[DONE]" for e in stream.spec.events):
        raise stream.failure("the streamed answer through the route has no 'data: [DONE]'")
    long = ctx.stream(long_body(ctx))
    ctx.events(long, "the long stream")
    try:
        timing = judge_incremental(ctx, long)
    except CheckSkipped as exc:
        timing = exc.reason
    variant = single.headers.get("x-amzn-invoked-production-variant", "not reported")
    return f"route OK; production variant: {variant}; long stream: {timing}"


def _sample_loop(ctx: CheckContext) -> tuple[str, str]:
    import openai  # imported here: the SDK is optional for the kit

    kwargs: dict[str, Any] = {
        "model": "",
        "messages": ctx.body()["messages"],
        "max_completion_tokens": 16,
        "stream": True,
    }
    base, key = ctx.target.openai_base_url, ctx.token() or "unused"
    # The AWS notebook's loop, verbatim: it indexes choices[0] with no guard.
    text = ""
    timeout = ctx.limits.request_timeout
    with openai.OpenAI(base_url=base, api_key=key, max_retries=0, timeout=timeout) as client:
        for chunk in client.chat.completions.create(**kwargs):
            if chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content

    async def run_async() -> str:
        out = ""
        async with openai.AsyncOpenAI(
            base_url=base, api_key=key, max_retries=0, timeout=timeout
        ) as client:
            async for chunk in await client.chat.completions.create(**kwargs):
                if chunk.choices[0].delta.content:
                    out += chunk.choices[0].delta.content
        return out

    return text, asyncio.run(run_async())


@check("live.sample_client", "MUST", modes="live", requests=2)
def aws_sample_client(ctx: CheckContext) -> str:
    """The AWS notebook loop with the openai SDK, sync and async, `model=""`, completes.

    Why: this loop is the documented way to call the route; it indexes `choices[0]` on every
    chunk, so any chunk with empty `choices` or an unreadable event crashes it.

    Fix: fix the chunk and SSE checks this run reports; the loop completes once they pass.
    """
    try:
        import openai  # noqa: F401
    except ImportError:
        raise CheckSkipped("the openai package is not installed; pip install openai") from None
    try:
        sync_text, async_text = _sample_loop(ctx)
    except Exception as exc:
        from .._engine._registry import CheckFailure

        raise CheckFailure(
            f"the AWS sample client loop raised {type(exc).__name__}: {exc}",
            sent={"url": ctx.target.url(), "model": ""},
        ) from exc
    return f"sync and async loops completed ({len(sync_text)} and {len(async_text)} characters)"


def _forged(token: str) -> str:
    # A well-formed token whose signature is wrong: only SageMaker's verification can catch it.
    raw = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    raw = _SIGNATURE.sub(lambda m: m.group(1) + "0" * len(m.group(2)), raw)
    return "sagemaker-api-key-" + base64.b64encode(raw.encode()).decode()


@check("live.auth_errors", "INFO", modes="live", requests=2)
def auth_errors(ctx: CheckContext) -> str:
    """A forged token gets 401/403 from SageMaker, not from the container.

    Why: it shows that SageMaker, not the container, authenticates callers, and how its
    refusals look to clients (for error handling and alerting).

    Fix: nothing to fix in the container; if the container answers instead, requests are
    reaching it without SageMaker's authentication.
    """
    token = ctx.token() or ""
    forged = ctx.chat(headers={"Authorization": f"Bearer {_forged(token)}"}, cache=False)
    if forged.status is None or forged.status not in (401, 403):
        raise forged.failure(f"a forged token got {forged.describe()}; expected 401 or 403")
    if origin(forged) != "SageMaker":
        raise forged.failure(f"the forged-token refusal came from {origin(forged)}")
    endpoint = ctx.target.endpoint or MISSING_NAME
    path = (
        route_path(endpoint, MISSING_NAME)
        if ctx.target.inference_component
        else route_path(MISSING_NAME)
    )
    missing = ctx.chat(path=path, cache=False)
    what = "component" if ctx.target.inference_component else "endpoint"
    if missing.status is None or not 400 <= missing.status < 500:
        raise missing.failure(f"a missing {what} got {missing.describe()}; expected a 4xx")
    return (
        f"forged token: HTTP {forged.status} from {origin(forged)}; missing {what}: "
        f"HTTP {missing.status} from {origin(missing)}"
    )
