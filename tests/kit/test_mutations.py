"""Every check can fail: checks that no reference fault trips are tripped by mutated responses.

A mutating httpx transport sits between the kit and the reference container and rewrites one
thing per case; the named check must then fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from kit.kit_support import Mutation, Mutator, Upstream
from kit.test_reference_conformance import FAULT_VERDICTS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance._engine._context import CheckContext
from conformance._engine._registry import Outcome
from conformance._engine._runner import run_check
from conformance._wire._serve import serve_app
from conformance._wire._target import Target
from conformance.checks import select_checks

CHECKS = {c.id: c for c in select_checks()}


def sent(request: httpx.Request) -> dict[str, Any]:
    try:
        data = json.loads(request.content or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def when(pred: Callable[[httpx.Request], bool], change: Callable[[Upstream], Upstream]) -> Mutation:
    return lambda req, up: change(up) if pred(req) else up


def edit_json(fn: Callable[[dict[str, Any]], None]) -> Callable[[Upstream], Upstream]:
    def change(up: Upstream) -> Upstream:
        data = json.loads(up[2])
        fn(data)
        return up[0], up[1], json.dumps(data).encode()

    return change


def edit_chunks(
    fn: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> Callable[[Upstream], Upstream]:
    def change(up: Upstream) -> Upstream:
        out = []
        for block in up[2].split(b"\n\n"):
            if block.startswith(b"data: {"):
                payload = fn(json.loads(block[6:]))
                if payload is None:
                    continue
                block = b"data: " + json.dumps(payload).encode()
            out.append(block)
        return up[0], up[1], b"\n\n".join(out)

    return change


def error(
    status: int,
    body: bytes = b'{"error": {"message": "no", "type": "x", "param": null, "code": null}}',
    ctype: str = "application/json",
) -> Callable[[Upstream], Upstream]:
    return lambda up: (status, {"content-type": ctype}, body)


def is_stream(req: httpx.Request) -> bool:
    return bool(sent(req).get("stream"))


def nonstream(req: httpx.Request) -> bool:
    return req.url.path.endswith("/completions") and not is_stream(req)


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.__setitem__(key, value)


def _pop_choice_1(data: dict[str, Any]) -> None:
    data["choices"] = data["choices"][:1]


def _drop_tool_calls(data: dict[str, Any]) -> None:
    data["choices"][0]["message"].pop("tool_calls", None)


def _null_logprobs(data: dict[str, Any]) -> None:
    data["choices"][0]["logprobs"] = None


def _no_object(chunk: dict[str, Any]) -> dict[str, Any]:
    chunk.pop("object", None)
    return chunk


def _two_finishes(chunk: dict[str, Any]) -> dict[str, Any]:
    for choice in chunk.get("choices", []):
        choice["finish_reason"] = choice.get("finish_reason") or "stop"
    return chunk


def _garble_unicode(chunk: dict[str, Any]) -> dict[str, Any]:
    for choice in chunk.get("choices", []):
        if isinstance(choice["delta"].get("content"), str):
            choice["delta"]["content"] = choice["delta"]["content"].replace("你好", "??")
    return chunk


def _named_events(up: Upstream) -> Upstream:
    return up[0], up[1], up[2].replace(b"data: {", b"event: message\ndata: {")


MUTATIONS: dict[str, Mutation] = {
    "container.invocations": when(lambda r: r.url.path == "/invocations", error(404)),
    "container.route": when(lambda r: r.url.path.endswith("/completions"), error(404)),
    "container.json_charset": when(lambda r: "charset" in r.headers.get("content-type", ""), error(415)),
    "container.ignores_sagemaker_headers": when(
        lambda r: "x-amzn-sagemaker-custom-attributes" in r.headers, error(401)),
    "container.large_body": when(lambda r: len(r.content) > 5_000_000, error(413, b"too big", "text/plain")),
    "container.alive_after_load": when(lambda r: sent(r).get("max_completion_tokens") == 1, error(503)),
    "errors.context_overflow": when(lambda r: 1_000_000 < len(r.content) < 5_000_000, error(500)),
    "chat.content_type": when(nonstream, lambda up: (up[0], {"content-type": "text/plain"}, up[2])),
    "chat.schema": when(nonstream, edit_json(set_key("created", 1.5))),
    "chat.usage": when(nonstream, edit_json(set_key("usage", None))),
    "chat.max_tokens": when(lambda r: "max_tokens" in sent(r), error(422)),
    "chat.stop": when(lambda r: "stop" in sent(r), edit_json(lambda d: d["choices"][0].update(finish_reason="length"))),
    "sse.accept_json": when(lambda r: is_stream(r) and r.headers["accept"] == "text/event-stream",
                            lambda up: (200, {"content-type": "application/json"}, b'{"id": "x"}')),
    "sse.matches_nonstream": when(is_stream, edit_chunks(_garble_unicode)),
    "sse.no_named_events": when(is_stream, _named_events),
    "chunk.schema": when(is_stream, edit_chunks(_no_object)),
    "chunk.finish_reason": when(is_stream, edit_chunks(_two_finishes)),
    "chunk.n": when(lambda r: sent(r).get("n") == 2 and not is_stream(r), edit_json(_pop_choice_1)),
    "chunk.logprobs": when(lambda r: bool(sent(r).get("logprobs")) and not is_stream(r), edit_json(_null_logprobs)),
    "tools.nonstream": when(lambda r: "tools" in sent(r) and not is_stream(r), edit_json(_drop_tool_calls)),
    "tools.followup": when(lambda r: any(m.get("role") == "tool" for m in sent(r).get("messages", [])), error(400)),
    "errors.shape": when(lambda r: sent(r) == {}, error(400, b"Bad Request", "text/plain")),
    "errors.unsupported_params": when(lambda r: "service_tier" in sent(r), error(500, b"oops", "text/plain")),
}  # fmt: skip
LIVE_PROVEN = {"live.route", "live.sample_client", "live.auth_errors"}  # see test_live.py


@pytest.mark.parametrize("check_id", sorted(MUTATIONS))
def test_mutation_fails_the_check(check_id: str, reference_direct: Target) -> None:
    client = httpx.Client(transport=Mutator(MUTATIONS[check_id]), timeout=30)
    ctx = CheckContext(reference_direct, client=client)
    try:
        result = run_check(CHECKS[check_id], ctx)
    finally:
        client.close()
    assert result.outcome is Outcome.FAILED, result.message


def test_no_mutation_means_no_failure(reference_direct: Target) -> None:
    client = httpx.Client(transport=Mutator(lambda req, up: up), timeout=30)
    ctx = CheckContext(reference_direct, client=client)
    try:
        outcomes = {c: run_check(CHECKS[c], ctx).outcome for c in MUTATIONS}
    finally:
        client.close()
    assert set(outcomes.values()) == {Outcome.PASSED}


@pytest.fixture(scope="module")
def broken_error_frame() -> Iterator[Target]:
    """A container whose mid-stream failure is plain text, as some servers send."""

    async def chat(request: Request) -> Response:
        async def body() -> Any:
            yield b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n'
            yield b"data: Internal Server Error\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with serve_app(app) as url:
        yield Target.direct(url)


def test_a_plain_text_mid_stream_error_fails(
    broken_error_frame: Target, reference_mock: Target
) -> None:
    from contextlib import contextmanager

    @contextmanager
    def factory(faults: frozenset[str]) -> Iterator[Target]:
        yield broken_error_frame

    target = Target(
        "mock",
        reference_mock.base_url,
        reference_mock.chat_path,
        token_factory=reference_mock.token_factory,
        fault_factory=factory,
    )
    ctx = CheckContext(target)
    try:
        result = run_check(CHECKS["errors.mid_stream"], ctx)
    finally:
        ctx.close()
    assert result.outcome is Outcome.FAILED and "JSON error frame" in result.message


def test_every_check_can_fail() -> None:
    proven = {c for fires, _ in FAULT_VERDICTS.values() for c in fires}
    proven |= set(MUTATIONS) | LIVE_PROVEN | {"errors.mid_stream"}
    # Each of these fails as a "related" check of a fault, asserted in test_reference_conformance.
    proven |= {
        "sse.no_named_events",
        "errors.stream_rejected_before_start",
        "chunk.stream_options_variants",
        "chunk.n",
    }
    assert {c.id for c in select_checks()} - proven == set()
