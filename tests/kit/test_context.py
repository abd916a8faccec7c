"""The check context: caching, secrets kept out of evidence, capabilities, transport errors."""

from __future__ import annotations

import json

import httpx
from kit.kit_support import Mutator, Upstream

from conformance._engine._context import OMIT, CheckContext
from conformance._engine._registry import Outcome
from conformance._engine._runner import run_check, run_checks
from conformance._wire._target import Target
from conformance.checks import select_checks

CHECKS = {c.id: c for c in select_checks()}


def test_body_overrides_and_omit() -> None:
    ctx = CheckContext(Target.direct("http://127.0.0.1:9"), model="m")
    body = ctx.body(max_tokens=5, max_completion_tokens=OMIT, temperature=OMIT)
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Say OK"}],
        "max_tokens": 5,
    }


def test_identical_requests_are_sent_once(reference_direct: Target) -> None:
    ctx = CheckContext(reference_direct)
    first, again = ctx.chat(), ctx.chat()
    fresh = ctx.chat(cache=False)
    stream = ctx.stream()
    ctx.close()
    assert first is again and fresh is not first
    assert ctx.requests_sent == 3 and stream.stream and not first.stream


def test_the_token_never_reaches_evidence_or_reprs(reference_mock: Target) -> None:
    ctx = CheckContext(reference_mock)
    token = ctx.token()
    assert token and token.startswith("sagemaker-api-key-")
    report = run_checks([CHECKS["container.route"], CHECKS["sse.done"]], ctx)
    ex = ctx.stream()
    ctx.close()
    assert ex.request_headers["Authorization"] == f"Bearer {token}"
    assert ex.sent()["headers"]["Authorization"] == "<redacted>"
    assert token not in json.dumps(report.to_dict()) + repr(reference_mock) + repr(ex)
    assert all(r.outcome is Outcome.PASSED for r in report.results)


def test_stream_chunks_carry_arrival_times(reference_direct: Target) -> None:
    ctx = CheckContext(reference_direct)
    ex = ctx.stream(ctx.body(max_completion_tokens=8))
    ctx.close()
    times = [t for t, _ in ex.chunks]
    assert times == sorted(times) and len(times) > 3
    assert len(ex.event_arrivals()) == len(ex.spec.events)
    assert ex.sdk.ok and ex.sdk.stopped_at_done


def refuse_tools(request: httpx.Request, up: Upstream, status: int = 400) -> Upstream:
    if b'"tools"' in request.content:
        body = b'{"error": {"message": "tools are not supported", "type": "x", "param": "tools", "code": null}}'
        return status, {"content-type": "application/json"}, body
    return up


def test_a_cleanly_refused_capability_skips_its_checks(reference_direct: Target) -> None:
    client = httpx.Client(transport=Mutator(refuse_tools))
    ctx = CheckContext(reference_direct, client=client)
    results = [
        run_check(CHECKS[i], ctx)
        for i in ("tools.nonstream", "tools.stream_deltas", "tools.followup")
    ]
    client.close()
    assert {r.outcome for r in results} == {Outcome.SKIPPED}
    assert "refuses tools" in results[0].message and "HTTP 400" in results[0].message


def test_a_5xx_for_a_capability_fails_instead(reference_direct: Target) -> None:
    client = httpx.Client(transport=Mutator(lambda req, up: refuse_tools(req, up, 500)))
    ctx = CheckContext(reference_direct, client=client)
    result = run_check(CHECKS["tools.nonstream"], ctx)
    client.close()
    assert result.outcome is Outcome.FAILED and "HTTP 500" in result.message


def test_an_unreachable_target_fails_with_the_transport_error() -> None:
    ctx = CheckContext(Target.direct("http://127.0.0.1:9"))
    result = run_check(CHECKS["container.route"], ctx)
    ctx.close()
    assert result.outcome is Outcome.FAILED
    assert "did not answer: ConnectError" in result.message
