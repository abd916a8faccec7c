"""The evidence behind the checks' severities: real clients against a broken reference container.

Each fault switch of the reference container is one way real containers break. A check is MUST
where a client of the matrix breaks on its fault, or silently loses what the user asked for;
it is in the strict layer (SHOULD, spec) where every client copes. The checks' "Why" sections
name these tests and these clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conformance._clients import run_clients, select_clients
from conformance._engine._local import emulated, reference_target
from conformance._engine._matrix import ClientResult, Readiness
from conformance._wire._serve import serve_app

FAST = "openai-python,openai-python-async,openai-python-2-async,langchain-openai,strands-agents,openai-node,vercel-ai"
PYTHON = {
    "openai-python",
    "openai-python-async",
    "openai-python-2-async",
    "langchain-openai",
    "strands-agents",
}
LITELLM = {"litellm-openai", "litellm-sagemaker-openai", "litellm-proxy"}
STEP_TIMEOUT = 4.0
# Faults every client copes with: their checks are in the strict layer. One container with all
# of them at once: each client still gets the whole answer, the tool call and the usage.
HARMLESS = (
    "no_done",
    "omit_null_keys",
    "usage_with_choices",
    "usage_without_include",
    "unstable_id",
    "wrong_content_type",
)
# fault -> the clients it breaks (the others stay READY), and the step where they break.
BREAKS: dict[str, tuple[set[str], str]] = {
    "done_then_hold": ({"openai-node", "vercel-ai"}, "stream"),
    "string_created": ({"vercel-ai"}, "answer"),
    "ignore_include_usage": (PYTHON | {"openai-node", "vercel-ai"}, "usage"),
    "tools_as_text": (PYTHON | {"openai-node", "vercel-ai"}, "tool_call"),
    "reject_empty_model": (PYTHON | {"openai-node", "vercel-ai"}, "answer"),
    "tool_delta_no_index": ({"openai-python-async", "openai-python-2-async", "openai-node"}, "tool_call"),
    "missing_role": ({"openai-node"}, "tool_call"),
}  # fmt: skip


def _matrix(faults: tuple[str, ...], **config: Any) -> list[ClientResult]:
    with reference_target("direct", faults, **config) as target:
        results = run_clients(target, select_clients(FAST), timeout=STEP_TIMEOUT)
    return [r for r in results if r.readiness is not Readiness.SKIPPED]  # no Node: skipped


def _report(results: list[ClientResult]) -> str:
    return "\n".join(f"{r.client}: {r.readiness.value} {r.message}" for r in results)


@pytest.mark.slow
def test_every_client_copes_with_the_strict_layers_faults(clients_cache: Path) -> None:
    results = _matrix(HARMLESS)
    assert {r.client for r in results} >= PYTHON
    assert all(r.ready for r in results), _report(results)


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_a_must_fault_breaks_the_clients_it_names(fault: str, clients_cache: Path) -> None:
    broken, step = BREAKS[fault]
    config = {"hold_after_done_s": 2 * STEP_TIMEOUT} if fault == "done_then_hold" else {}
    results = _matrix((fault,), **config)
    ran = {r.client for r in results}
    assert ran >= PYTHON
    not_ready = {r.client for r in results if r.readiness is Readiness.NOT_READY}
    assert not_ready == broken & ran, _report(results)
    for result in results:
        if result.client in broken:
            assert result.message.startswith(f"{step}:"), _report(results)
    if fault == "done_then_hold":
        assert all("hung: no end within" in r.message for r in results if not r.ready)


@pytest.mark.slow
@pytest.mark.proxy
def test_every_client_is_ready_when_the_followup_calls_the_tool_again(clients_cache: Path) -> None:
    # Small models answer the tool result with the tool again: that turn is an answer (as in
    # tools.followup), every driver reports it, and no agent loop (Strands, the AI SDK) runs on
    # to its deadline. Every client, the LiteLLM ones too: mock mode has the route they need.
    with reference_target("mock", ("tool_call_again",)) as target:
        results = run_clients(target, select_clients(None), timeout=2 * STEP_TIMEOUT)
    ran = [r for r in results if r.readiness is not Readiness.SKIPPED]  # no Node: skipped
    assert {r.client for r in ran} >= PYTHON | LITELLM
    assert all(r.ready for r in ran), _report(ran)
    for result in ran:
        followup = next(s for s in result.steps if s.name == "followup")
        assert followup.detail.startswith("answered the tool result with another tool call")


def test_a_container_without_ping_breaks_every_client_behind_the_route(clients_cache: Path) -> None:
    # container.ping and container.ping_busy: SageMaker routes only to a container that passes
    # its /ping health check. In mock mode the emulator checks as it does, and every client of
    # the matrix, LiteLLM's sagemaker_openai/ and its proxy included, gets the endpoint's
    # NotInService error instead of an answer.
    chosen = select_clients(f"{FAST},litellm-sagemaker-openai,litellm-proxy")
    with (
        reference_target("direct", ("no_ping",)) as container,
        emulated(container.base_url) as target,
    ):
        results = run_clients(target, chosen, timeout=STEP_TIMEOUT)
    ran = [r for r in results if r.readiness is not Readiness.SKIPPED]
    assert {r.client for r in ran} >= PYTHON | {"litellm-sagemaker-openai", "litellm-proxy"}
    assert all(r.readiness is Readiness.NOT_READY for r in ran), _report(ran)
    for result in ran:
        assert result.message.startswith("answer:"), _report(ran)
    sagemaker = next(r for r in ran if r.client == "litellm-sagemaker-openai")
    assert "not in service" in sagemaker.message, sagemaker.message


def _counting_client(hits: list[str]) -> httpx.Client:
    return httpx.Client(event_hooks={"request": [lambda request: hits.append(request.url.path)]})


def test_a_5xx_for_a_client_error_is_sent_three_times() -> None:
    # errors.client_errors_not_5xx and errors.context_overflow: the cost is extra work.
    hits: list[str] = []
    with reference_target("direct", ("server_error_on_bad_request",)) as target:
        client = openai.OpenAI(
            base_url=target.openai_base_url, api_key="x", http_client=_counting_client(hits)
        )
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="", messages="x")  # type: ignore[arg-type]
    assert len(hits) == 3


def test_a_plain_text_error_still_raises_the_status_error() -> None:
    # errors.shape: clients raise on the status alone; the message says only the status.
    async def refuse(request: Request) -> PlainTextResponse:
        return PlainTextResponse("bad request", status_code=400)

    app = Starlette(routes=[Route("/v1/chat/completions", refuse, methods=["POST"])])
    with serve_app(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError, match=r"^Error code: 400$"):
            client.chat.completions.create(model="", messages=[{"role": "user", "content": "x"}])
