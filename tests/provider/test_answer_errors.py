"""Answers the plugin cannot use are a BadGatewayError (never an APIConnectionError, which the
Router retries as a network fault): malformed JSON shapes, a corrupt gzip body, a 3xx from the
route. And ``data: [DONE] `` with trailing whitespace ends a stream, as in the OpenAI SDK.

A real HTTP server on loopback, called by host name, sync and async, streamed and not.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import litellm
import pytest
from faults.faults_calls import Outcome, call
from faults.faults_support import Conn, Hit, chunk, completion, event, loopback
from litellm.exceptions import MidStreamFallbackError

from litellm_sagemaker_openai._errors import SageMakerStreamError

MODES = pytest.mark.parametrize(
    ("sync", "stream"),
    [(True, False), (False, False), (True, True), (False, True)],
    ids=["sync", "async", "sync-stream", "async-stream"],
)
SSE = {"content-type": "text/event-stream"}
ROLE = event(chunk({"role": "assistant", "content": ""}))
FINISH = event(chunk({}, "stop")) + event("[DONE]")


def _answer(plain: bytes, stream: bytes, headers: dict[str, str] | None = None) -> Any:
    """Serve ``plain`` to non-stream requests and ``stream`` to stream requests, complete."""

    async def handler(hit: Hit, conn: Conn) -> None:
        body = stream if hit.stream else plain
        kind = SSE if hit.stream else {"content-type": "application/json"}
        await conn.head(200, {**kind, **(headers or {})}, length=len(body))
        await conn.write(body)

    return handler


def _by_hostname(handler: Any, sync: bool, stream: bool) -> Outcome:
    with loopback(handler) as server:
        return call(server.url.replace("127.0.0.1", "localhost"), sync=sync, stream=stream)


def _bad_gateway(out: Outcome, stream: bool) -> Exception:
    """The caller got a BadGatewayError (inside MidStreamFallbackError for a stream that had
    started), no answer, and the connection back in the pool."""
    error = out.error
    assert error is not None, f"no error; got {out.text!r} {out.message!r}"
    if stream and isinstance(error, MidStreamFallbackError):
        error = error.original_exception
    assert isinstance(error, litellm.BadGatewayError), f"{type(error).__name__}: {error}"
    assert not isinstance(error, litellm.APIConnectionError)
    assert out.message is None and out.finish_reasons == []
    assert out.pool_problems == []
    return error


def _whole(**fields: Any) -> bytes:
    return json.dumps({**completion(), **fields}).encode()


def _chunk_with(**fields: Any) -> bytes:
    return event(json.dumps({**json.loads(chunk({"content": "x"})), **fields}))


CHOICE = completion()["choices"][0]
# name -> (non-stream body, stream body)
MALFORMED = {
    "choices is a string": (_whole(choices="oops"), ROLE + _chunk_with(choices="oops") + FINISH),
    "choices is an object": (
        _whole(choices={"0": CHOICE}),
        ROLE + _chunk_with(choices={"0": {"index": 0, "delta": {}}}) + FINISH,
    ),
    "choice is a string": (_whole(choices=["hello"]), ROLE + _chunk_with(choices=["hello"]) + FINISH),
    "choice is null": (_whole(choices=[None]), ROLE + _chunk_with(choices=[None]) + FINISH),
    "message is a string": (
        _whole(choices=[{**CHOICE, "message": "hello"}]),
        ROLE + _chunk_with(choices=[{"index": 0, "delta": "hello"}]) + FINISH,
    ),
    "usage is a string": (
        _whole(usage="30 tokens"),
        ROLE + event(chunk({"content": "x"})) + event(chunk({}, "stop"))
        + _chunk_with(choices=[], usage="30 tokens") + event("[DONE]"),
    ),
    "tool_calls is a string": (
        _whole(choices=[{**CHOICE, "message": {"role": "assistant", "tool_calls": "f()"}}]),
        ROLE + _chunk_with(choices=[{"index": 0, "delta": {"tool_calls": "f()"}}]) + FINISH,
    ),
}  # fmt: skip


@MODES
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_answer_is_a_bad_gateway(case: str, sync: bool, stream: bool) -> None:
    plain, streamed = MALFORMED[case]
    out = _by_hostname(_answer(plain, streamed), sync, stream)
    error = _bad_gateway(out, stream)
    assert "container" in str(error)


@MODES
def test_corrupt_gzip_body_is_a_bad_gateway(sync: bool, stream: bool) -> None:
    good = gzip.compress(ROLE + FINISH)
    corrupt = good[:10] + b"\x00not deflate data at all" + good[-8:]
    out = _by_hostname(_answer(corrupt, corrupt, {"content-encoding": "gzip"}), sync, stream)
    error = _bad_gateway(out, stream)
    assert "gzip" in str(error) and "could not be decoded" in str(error)


@MODES
def test_well_formed_gzip_body_is_read(sync: bool, stream: bool) -> None:
    plain, streamed = (
        gzip.compress(_whole()),
        gzip.compress(ROLE + event(chunk({"content": "zipped"})) + FINISH),
    )
    out = _by_hostname(_answer(plain, streamed, {"content-encoding": "gzip"}), sync, stream)
    assert out.error is None, out.error
    if stream:
        assert out.text == "zipped"
    else:
        assert out.message.choices[0].message.content == "whole answer"


def _redirect(status: int, location: str) -> Any:
    async def handler(hit: Hit, conn: Conn) -> None:
        await conn.respond(status, b"", {"location": location, "content-type": "text/plain"})

    return handler


@MODES
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_from_the_route_names_where_it_points(
    status: int, sync: bool, stream: bool
) -> None:
    target = "https://vpce-0abc.runtime.sagemaker.us-east-1.vpce.amazonaws.com/endpoints/ep/x"
    with loopback(_redirect(status, target)) as server:
        out = call(server.url.replace("127.0.0.1", "localhost"), sync=sync, stream=stream)
        assert len(server.hits) == 1  # not followed
    error = out.error
    # Raised by the call itself, before any chunk: the Router can act on it.
    assert isinstance(error, litellm.BadGatewayError), f"{type(error).__name__}: {error}"
    assert not isinstance(error, MidStreamFallbackError)
    assert str(status) in str(error) and target in str(error) and "api_base" in str(error)
    assert out.pool_problems == []


def test_redirect_location_is_redacted() -> None:
    signed = "https://elsewhere.example/?X-Amz-Signature=0123456789abcdef0123456789abcdef"
    with loopback(_redirect(302, signed)) as server:
        out = call(server.url, sync=True, stream=False)
    assert isinstance(out.error, litellm.BadGatewayError)
    assert "0123456789abcdef0123456789abcdef" not in str(out.error)


@pytest.mark.parametrize(
    "done", [b"data: [DONE] ", b"data: [DONE]  ", b"data: [DONE]\t", b"data:[DONE] "]
)
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_done_with_trailing_whitespace_ends_the_stream(done: bytes, sync: bool) -> None:
    # No finish_reason: only [DONE] says the answer is complete.
    body = ROLE + event(chunk({"content": "all of it"})) + done + b"\n\n"
    out = _by_hostname(_answer(b"", body), sync, True)
    assert out.error is None, out.error
    assert out.text == "all of it" and out.pool_problems == []


def test_stream_error_class_is_the_plugins() -> None:
    # The BadGatewayError above is the plugin's own (catchable as StreamError too).
    plain, _ = MALFORMED["choices is a string"]
    out = _by_hostname(_answer(plain, b""), True, False)
    assert type(out.error) is SageMakerStreamError
