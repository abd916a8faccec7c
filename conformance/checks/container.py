"""SageMaker container contract: /ping, /invocations, the route, headers, model "", body size."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from .._engine._context import CheckContext
from .._engine._registry import check
from .._wire._exchange import Exchange
from ._schema import completion_problems

PING_TIMEOUT: Final = 2.0  # SageMaker gives each /ping 2 s
IDLE_PINGS: Final = 5
SAGEMAKER_HEADERS: Final = {
    "X-Amzn-SageMaker-Custom-Attributes": "a=b",
    "X-Amzn-SageMaker-Inference-Id": "conformance-kit-0001",
    "X-Amzn-SageMaker-Target-Variant": "AllTraffic",
    "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
}


def ping_ok(ex: Exchange, when: str) -> None:
    """Fail unless a GET /ping got a whole 200 in time."""
    if ex.status is None:
        raise ex.failure(
            f"GET /ping {when} did not answer within {PING_TIMEOUT:g} s: "
            f"{ex.transport_error}; SageMaker marks the container unhealthy"
        )
    if ex.status != 200:
        raise ex.failure(f"GET /ping {when} got HTTP {ex.status}; SageMaker needs 200")
    if ex.cut is not None:
        # The health check waits for the whole answer; one that never ends times out.
        raise ex.failure(
            f"GET /ping {when} got HTTP 200, but no whole answer; answer it with an empty body"
        )


@check("container.ping", "MUST", modes=("direct", "mock"), requests=IDLE_PINGS)
def ping_answers(ctx: CheckContext) -> str:
    """GET /ping returns 200 within 2 s (in mock mode too, on the container itself).

    Why: SageMaker itself refuses the container: it health-checks every container with GET
    /ping, allowing 2 s per attempt, and one that fails never goes InService, or is replaced
    once it is. The route never forwards /ping, so in mock mode the kit asks the container;
    the emulator in front of it health-checks it too, and answers every call with SageMaker's
    NotInService error while /ping fails: every client of the matrix, LiteLLM's
    sagemaker_openai/ and its proxy included, then gets no answer (tests/clients).

    Fix: serve GET /ping on port 8080 with a 200 and an empty body, from a handler that never
    waits for the model (vLLM and SGLang do this; `transformers serve` needs a small shim).
    """
    with ctx.container() as own:
        for _ in range(IDLE_PINGS):
            ping_ok(own.get("/ping", timeout=PING_TIMEOUT), "when idle")
    return f"{IDLE_PINGS} idle pings answered 200"


@check("container.invocations", "SHOULD", modes=("direct", "mock"), requests=2)
def invocations_answers_chat(ctx: CheckContext) -> None:
    """POST /invocations answers a chat body like /v1/chat/completions (stream and not).

    Why: the classic InvokeEndpoint API and InvokeEndpointWithResponseStream reach the container
    at /invocations; SageMaker tooling and older clients still call them on the same endpoint.

    Fix: route POST /invocations to the chat-completions handler, streaming included, as vLLM's
    SageMaker router does (it tries the chat request type first).
    """
    with ctx.container() as own:
        ex = own.expect_ok(own.chat(path="/invocations"), "POST /invocations")
        problems = completion_problems(ex.json)
        if problems:
            raise ex.failure(f"/invocations did not return a chat.completion: {problems[0]}")
        st = own.stream(path="/invocations")
        if not own.events(st, "POST /invocations with stream: true"):
            raise st.failure("/invocations with stream: true streamed no chat chunks")


def _is_model_refusal(ex: Exchange) -> bool:
    data = ex.json
    err = data.get("error") if isinstance(data, dict) else None
    return isinstance(err, dict) and (
        err.get("param") == "model" or "model" in str(err.get("message"))
    )


@check("container.route", "MUST")
def route_exists(ctx: CheckContext) -> str | None:
    """POST /v1/chat/completions (through the route, if any) answers the default body with 200.

    Why: SageMaker forwards `/openai/v1/chat/completions` to the container's
    `/v1/chat/completions`; without it no OpenAI client gets an answer. Every other check
    builds on this request, so the check also makes sure that the request went to that path
    (a target URL with a `?` or `#` would send it to `/`, which a server answering every path
    would answer as well).

    Fix: serve POST /v1/chat/completions on port 8080 and answer the smallest valid body (one
    user message, `max_completion_tokens: 16`) with a 200 within the request timeout.
    """
    ex = ctx.chat()
    sent = urlsplit(ex.url)
    if "?" in ex.url or "#" in ex.url or not sent.path.endswith(ctx.target.chat_path):
        # A server that answers every path would answer this too: only the URL itself can
        # show that the request went to the route (a Target built by hand is not validated).
        raise ex.failure(
            f"the default request went to {ex.url!r}, whose path is {sent.path!r}, not the chat "
            f"route {ctx.target.chat_path!r}: give the target as a base URL with no query or "
            "fragment, such as http://127.0.0.1:8080"
        )
    if ex.status is None:
        raise ex.failure(f"the chat route did not answer: {ex.transport_error}")
    if ex.cut is not None:
        raise ex.failure(
            f"the answer to the default request was cut off: {ex.cut}; a 16-token answer must "
            "end well within the request timeout (raise --request-timeout if the container "
            "is only slow)"
        )
    if ex.status == 200:
        return None
    if ex.status in (404, 405) and not _is_model_refusal(ex):
        raise ex.failure(
            f"the chat route is missing: {ex.describe()}; serve POST "
            "/v1/chat/completions (SageMaker forwards the OpenAI route there)"
        )
    if _is_model_refusal(ex) and ctx.model == "":
        return f'the route exists; model "" is refused ({ex.describe()}); see container.empty_model'
    raise ex.failure(f"the default request was refused: {ex.describe()}")


@check("container.json_charset", "SHOULD")
def accepts_json_charset(ctx: CheckContext) -> None:
    """`Content-Type: application/json; charset=utf-8` is accepted like plain JSON.

    Why: many HTTP clients and gateways add the charset parameter; a strict media-type match
    refuses their requests.

    Fix: compare only the media type (`application/json`) and ignore its parameters.
    """
    ex = ctx.chat(headers={"Content-Type": "application/json; charset=utf-8"})
    ctx.expect_ok(ex, "a body sent as 'application/json; charset=utf-8'")


@check("container.ignores_sagemaker_headers", "MUST")
def ignores_sagemaker_headers(ctx: CheckContext) -> str:
    """X-Amzn-SageMaker-* headers and a bogus Authorization header change nothing.

    Why: SageMaker adds its own headers and authenticates callers itself, so a container
    that refuses unknown headers, or demands its own API key, refuses every routed request.

    Fix: ignore headers you do not use, and do not configure an API key on the container
    (vLLM `--api-key`, SGLang `api_key`): the endpoint's IAM policy is the access control.
    """
    headers: dict[str, str | None] = dict(SAGEMAKER_HEADERS)
    if ctx.mode == "direct":
        # SageMaker authenticates the caller itself; a container demanding its own API key
        # (vLLM --api-key) would refuse every request that reaches it through the route.
        headers["Authorization"] = "Bearer not-a-key-the-container-should-check"
    ex = ctx.expect_ok(ctx.chat(headers=headers), "the default request with SageMaker headers")
    problems = completion_problems(ex.json)
    # The answer's shape is chat.schema's business; here only a change the headers made counts.
    if problems and problems != completion_problems(ctx.chat().json):
        raise ex.failure(f"with SageMaker headers the answer is no chat.completion: {problems[0]}")
    sent = ", ".join(sorted(headers))
    return f"answered 200 with {sent}"


@check("container.empty_model", "MUST", requests=2)
def accepts_empty_model(ctx: CheckContext) -> str | None:
    """`model: ""` is accepted, streaming and not (SageMaker clients send it).

    Why: the route passes `model` through unchanged and routes by endpoint name, so the AWS
    samples, Bifrost and many gateways send `model: ""`.

    Fix: serve the deployed model whatever `model` says, or at least when it is empty (vLLM
    does; `transformers serve` needs `--force-model`); report the served model's name back.
    """
    notes = []
    for ex in (ctx.chat(ctx.body(model="")), ctx.stream(ctx.body(model=""))):
        kind = "streaming " if ex.stream else ""
        if ex.cut is not None:
            ctx.expect_baseline(stream=ex.stream)  # blocked when the default is cut off too
        if ex.status != 200 or ex.cut is not None:
            raise ex.failure(
                f'a {kind}request with model "" got {ex.describe()}; accept "" '
                "and serve the deployed model (routing is by endpoint name)"
            )
        data = ex.json if not ex.stream else next(iter(ctx.chunks(ex)), None)
        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, str):
            raise ex.failure(
                f"with model \"\" the {kind}response 'model' is {model!r}, not a string"
            )
        if model == "":
            notes.append(f'the {kind}response echoes model "" (clients may show it blank)')
    return "; ".join(notes) or None
