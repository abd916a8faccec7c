"""What LiteLLM's ``sagemaker_chat/`` cannot do that the plugin can: each row tried for real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from bench._servers import ENDPOINT, MESSAGES, PLUGIN_MODEL, REGION, Server, litellm_ready

CHAT_MODEL: Final = f"sagemaker_chat/{ENDPOINT}"
COMPONENT: Final = "bench-ic"


def chat_kwargs(server: Server, path: str) -> dict[str, Any]:
    """SigV4 credentials and ``sagemaker_base_url`` for ``sagemaker_chat/`` on the emulator."""
    return {
        "aws_access_key_id": server.creds.access_key_id,
        "aws_secret_access_key": server.creds.secret_access_key,
        "aws_region_name": REGION,
        "sagemaker_base_url": f"{server.base}/endpoints/{ENDPOINT}/{path}",
    }


def _outcome(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except Exception as exc:
        return f"fails: {type(exc).__name__}: {str(exc).splitlines()[0][:110]}"


def capabilities(server: Server) -> list[dict[str, str]]:
    """Each row: what was tried, and what the plugin and sagemaker_chat/ did."""
    litellm = litellm_ready()
    plugin = server.plugin_kwargs()
    route = f"{server.base}/endpoints/{ENDPOINT}/openai/v1/chat/completions"
    ic_route = (
        f"{server.base}/endpoints/{ENDPOINT}/inference-components/{COMPONENT}"
        "/openai/v1/chat/completions"
    )
    rows: list[dict[str, str]] = []

    def text(response: Any) -> str:
        return f"ok: {response.choices[0].message.content!r:.40}"

    def row(what: str, mine: Callable[[], str], theirs: Callable[[], str]) -> None:
        rows.append(
            {"capability": what, "plugin": _outcome(mine), "sagemaker_chat": _outcome(theirs)}
        )

    def chat(max_tokens: int = 8, **kw: Any) -> Any:
        return litellm.completion(model=CHAT_MODEL, messages=MESSAGES, max_tokens=max_tokens, **kw)

    row(
        "call the OpenAI route (/openai/v1/chat/completions)",
        lambda: text(
            litellm.completion(model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=8, **plugin)
        ),
        lambda: text(chat(**{**chat_kwargs(server, ""), "sagemaker_base_url": route})),
    )
    row(
        "inference component on the OpenAI route (component in the path)",
        lambda: text(
            litellm.completion(
                model=f"{PLUGIN_MODEL}/{COMPONENT}", messages=MESSAGES, max_tokens=8, **plugin
            )
        ),
        lambda: text(
            chat(
                **{
                    **chat_kwargs(server, ""),
                    "sagemaker_base_url": ic_route,
                    "model_id": COMPONENT,
                }
            )
        ),
    )
    token = server.static_token()
    row(
        "bearer token auth (api_key='sagemaker-api-key-...', no AWS keys)",
        lambda: text(
            litellm.completion(
                model=PLUGIN_MODEL,
                messages=MESSAGES,
                max_tokens=8,
                api_base=server.base,
                api_key=token,
                aws_region_name=REGION,
            )
        ),
        lambda: text(
            litellm.completion(
                model=CHAT_MODEL,
                messages=MESSAGES,
                max_tokens=8,
                api_key=token,
                aws_region_name=REGION,
                sagemaker_base_url=route,
            )
        ),
    )
    row(
        "stream over the OpenAI route (SSE)",
        lambda: _stream_text(
            litellm.completion(
                model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=8, stream=True, **plugin
            )
        ),
        lambda: _stream_text(
            chat(stream=True, **{**chat_kwargs(server, ""), "sagemaker_base_url": route})
        ),
    )
    fields = {
        "extra_body": {"chat_template_kwargs": {"enable_thinking": True}},
        "logprobs": True,
        "top_logprobs": 2,
    }
    row(
        "stream keeps reasoning_content and logprobs (container sends both)",
        lambda: _fields(
            litellm.completion(
                model=PLUGIN_MODEL,
                messages=MESSAGES,
                max_tokens=40,
                stream=True,
                **fields,
                **plugin,
            )
        ),
        lambda: _fields(
            chat(40, stream=True, **fields, **chat_kwargs(server, "invocations-response-stream"))
        ),
    )
    row(
        "stream keeps the container's chunk id and system_fingerprint",
        lambda: _ids(
            litellm.completion(
                model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=8, stream=True, **plugin
            )
        ),
        lambda: _ids(chat(stream=True, **chat_kwargs(server, "invocations-response-stream"))),
    )
    body_model = _sent_models(litellm, server)
    row(
        'body `model` is "" (what vLLM accepts on SageMaker)',
        lambda: body_model["plugin"],
        lambda: body_model["sagemaker_chat"],
    )
    return rows


def _stream_text(stream: Any) -> str:
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    return f"ok: {text!r:.40}" if text else "fails: empty stream"


def _fields(stream: Any) -> str:
    chunks = [c for c in stream if c.choices]
    reasoning = any(getattr(c.choices[0].delta, "reasoning_content", None) for c in chunks)
    logprobs = any(getattr(c.choices[0], "logprobs", None) for c in chunks)
    if reasoning and logprobs:
        return "ok: both"
    return (
        f"missing: reasoning_content={'kept' if reasoning else 'dropped'}, "
        f"logprobs={'kept' if logprobs else 'dropped'}"
    )


def _ids(stream: Any) -> str:
    chunks = list(stream)
    ids = {c.id for c in chunks}
    fingerprints = {getattr(c, "system_fingerprint", None) for c in chunks}
    ok = (
        len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-") and "fp_reference" in fingerprints
    )
    return (
        "ok"
        if ok
        else f"missing: ids={sorted(ids)[:2]}, fingerprints={sorted(map(str, fingerprints))}"
    )


def _sent_models(litellm: Any, server: Server) -> dict[str, str]:
    """The `model` each path put in the request body, from LiteLLM's pre-call log."""
    from litellm.integrations.custom_logger import CustomLogger

    seen: dict[str, Any] = {}

    class Capture(CustomLogger):
        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            body = (kwargs.get("additional_args") or {}).get("complete_input_dict")
            if isinstance(body, dict):
                seen[kwargs.get("custom_llm_provider") or "?"] = body.get("model")

    capture = Capture()
    litellm.callbacks.append(capture)
    try:
        litellm.completion(
            model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=4, **server.plugin_kwargs()
        )
        litellm.completion(
            model=CHAT_MODEL, messages=MESSAGES, max_tokens=4, **chat_kwargs(server, "invocations")
        )
    finally:
        litellm.callbacks.remove(capture)

    def verdict(provider: str) -> str:
        if provider not in seen:
            return "unverified: no body in LiteLLM's pre-call log"
        return 'ok: sends ""' if seen[provider] == "" else f"fails: sends {seen[provider]!r}"

    return {"plugin": verdict("sagemaker_openai"), "sagemaker_chat": verdict("sagemaker_chat")}
