"""Fault-injection calls: run a call to its end, time it, check the pool; clocks and tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final
from urllib.parse import parse_qs

import litellm
from faults.faults_support import (
    async_pool_problems,
    async_pool_size,
    sync_pool_problems,
    sync_pool_size,
)
from litellm.exceptions import MidStreamFallbackError

MESSAGES: Final = [{"role": "user", "content": "hi"}]
# Test credentials for servers that do not check tokens (the loopback server): minted locally.
STATIC_CREDS: Final = {
    "aws_access_key_id": "AKIAFAULTSEXAMPLE001",
    "aws_secret_access_key": "faults/secret+key/EXAMPLE0123456789abcdefg",
    "aws_region_name": "us-east-1",
}
# A fault must surface within the caller's timeout plus this much: loose enough for a loaded
# 2-core CI box, tight enough that a hang (or a retry loop) fails the test.
SLACK_S: Final = 3.0
TIMEOUT_S: Final = 2.0  # the caller's ``timeout=`` in every call here...
SHORT_TIMEOUT_S: Final = 1.0  # ...except where the timeout itself is the fault (it is waited out)


@dataclass
class Outcome:
    """What a caller saw: the error (or None), the chunks or message before it, the time taken."""

    error: BaseException | None
    chunks: list[Any] = field(default_factory=list)
    message: Any = None
    elapsed: float = 0.0
    pool_problems: list[str] = field(default_factory=list)
    pool_size: int = 0

    @property
    def finish_reasons(self) -> list[str]:
        return [
            c.choices[0].finish_reason
            for c in self.chunks
            if c.choices and c.choices[0].finish_reason
        ]

    @property
    def text(self) -> str:
        return "".join(c.choices[0].delta.content or "" for c in self.chunks if c.choices)


def run_call(
    call: Callable[..., Any], acall: Callable[..., Any], *, sync: bool, stream: bool, **kwargs: Any
) -> Outcome:
    """Run ``call`` (sync) or ``acall`` (async, in a fresh loop) to the end of the answer,
    catching the error, timing it, and inspecting the plugin's pool afterwards (for async, on
    the same loop, before it closes)."""
    if sync:
        return _run_sync(call, stream, kwargs)
    return asyncio.run(run_call_async(acall, stream, kwargs))


def _run_sync(call: Callable[..., Any], stream: bool, kwargs: dict[str, Any]) -> Outcome:
    out = Outcome(None)
    start = time.perf_counter()
    try:
        result = call(stream=stream, **kwargs)
        if stream:
            for item in result:
                out.chunks.append(item)
        else:
            out.message = result
    except Exception as exc:
        out.error = exc
    out.elapsed = time.perf_counter() - start
    out.pool_problems = sync_pool_problems()
    out.pool_size = sync_pool_size()
    return out


async def run_call_async(
    acall: Callable[..., Any], stream: bool, kwargs: dict[str, Any]
) -> Outcome:
    """The async half of :func:`run_call`, for callers that run several on one loop."""
    out = Outcome(None)
    start = time.perf_counter()
    try:
        result = await acall(stream=stream, **kwargs)
        if stream:
            async for item in result:
                out.chunks.append(item)
        else:
            out.message = result
    except Exception as exc:
        out.error = exc
    out.elapsed = time.perf_counter() - start
    out.pool_problems = async_pool_problems()
    out.pool_size = async_pool_size()
    return out


def call(
    api_base: str, *, sync: bool, stream: bool, model: str = "sagemaker_openai/ep", **kwargs: Any
) -> Outcome:
    """One ``litellm.completion``/``acompletion`` through the plugin, with no LiteLLM retries."""
    params: dict[str, Any] = {
        "model": model,
        "messages": MESSAGES,
        "api_base": api_base,
        "timeout": TIMEOUT_S,
        "num_retries": 0,
        **STATIC_CREDS,
        **kwargs,
    }
    return run_call(litellm.completion, litellm.acompletion, sync=sync, stream=stream, **params)


def assert_failed(
    out: Outcome,
    cls: type[Exception],
    *,
    wrapped: bool = False,
    timeout: float = TIMEOUT_S,
    at_least: float = 0.0,
) -> Exception:
    """The caller got exactly ``cls`` (inside MidStreamFallbackError when ``wrapped``), in time,
    with no connection left in use and no answer reported as complete."""
    error = out.error
    assert error is not None, f"no error raised; the caller got {out.text!r} {out.message!r}"
    if wrapped:
        assert type(error) is MidStreamFallbackError, f"{type(error).__name__}: {error}"
        error = error.original_exception
    assert type(error) is cls, f"{type(error).__name__} instead of {cls.__name__}: {error}"
    assert at_least <= out.elapsed < timeout + SLACK_S, f"took {out.elapsed:.2f} s"
    assert out.pool_problems == []
    assert out.message is None  # a non-stream call returned nothing
    assert out.finish_reasons == []  # a stream never said it had finished
    assert isinstance(error, Exception)
    return error


# --- tokens and clocks ------------------------------------------------------------------------


@dataclass
class FakeClock:
    """Wall-clock seconds that a test can move; starts at the real time."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def datetime(self, remove_tzinfo: bool = True) -> datetime:
        """The same instant in botocore's ``get_current_datetime`` shape (naive UTC)."""
        value = datetime.fromtimestamp(self.now, tz=timezone.utc)
        return value.replace(tzinfo=None) if remove_tzinfo else value


def token_fields(token: str) -> dict[str, str]:
    """The presigned-URL query fields inside a bearer token (key id, date, session token...)."""
    url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    fields = {k: v[0] for k, v in parse_qs(url.partition("?")[2]).items()}
    fields["KeyId"] = fields["X-Amz-Credential"].split("/")[0]
    return fields


def recording(
    app: Any, hits: list[dict[str, str]], refuse: Callable[[int, str], int] | None = None
) -> Any:
    """Wrap an ASGI app (the emulator): record each HTTP request's headers; ``refuse(index,
    token)`` may return a status (401/403) to answer instead of the app, as a gateway would."""

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        hits.append(headers)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        status = refuse(len(hits) - 1, token) if refuse else 0
        if not status:
            await app(scope, receive, send)
            return
        body = json.dumps({"message": "the security token included in the request is invalid"})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-amzn-errortype", b"UnrecognizedClientException"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    return wrapper
