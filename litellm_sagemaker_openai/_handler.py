"""The CustomLLM that LiteLLM calls: thin glue from its arguments to ``_request``/``_send``.

Streams are opened *before* the iterator is returned, so errors before the first byte
raise from ``completion(stream=True)`` itself, where the Router retries, falls back and
applies ``context_window_fallbacks``. LiteLLM calls ``astreaming`` in an executor thread with
no event loop; to open the request on the caller's loop (so no thread is held per stream),
a CustomLogger hook that LiteLLM awaits on that loop records it in a ContextVar, which
LiteLLM copies into the executor thread.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import ModelResponse

from ._errors import (
    SageMakerConfigurationError,
    SageMakerCredentialsError,
    build_error,
)
from ._exceptions import ConfigurationError, CredentialsError
from ._request import Call, prepare
from ._send import complete_async, complete_sync, open_async, open_sync, warm_token
from ._stream import Chunk, aiter_chunks, iter_chunks

_caller_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "litellm_sagemaker_openai_caller_loop", default=None
)


class LoopCapture(CustomLogger):
    """Records the caller's event loop for ``astreaming`` (which LiteLLM runs in a thread)."""

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        _caller_loop.set(asyncio.get_running_loop())
        return None


LOOP_CAPTURE = LoopCapture()


def install_loop_capture() -> None:
    """Put :data:`LOOP_CAPTURE` in ``litellm.callbacks`` once (append, never replace)."""
    if LOOP_CAPTURE not in litellm.callbacks:
        litellm.callbacks.append(LOOP_CAPTURE)


def _call(stream: bool, kwargs: dict[str, Any]) -> Call:
    """Validate LiteLLM's handler arguments into a Call; logs the request (token masked)."""
    optional_params: dict[str, Any] = kwargs.get("optional_params") or {}
    logging_obj = kwargs.get("logging_obj")
    # LiteLLM keeps the OpenAI ``user`` field only on its logging object for custom providers.
    user = getattr(logging_obj, "user", None)
    if isinstance(user, str) and "user" not in optional_params:
        optional_params = {**optional_params, "user": user}
    try:
        call = prepare(
            kwargs["model"],
            kwargs["messages"],
            optional_params=optional_params,
            litellm_params=kwargs.get("litellm_params"),
            api_base=kwargs.get("api_base"),
            api_key=kwargs.get("api_key"),
            headers=kwargs.get("headers"),
            timeout=kwargs.get("timeout"),
            stream=stream,
        )
    except ConfigurationError as exc:
        raise build_error(
            SageMakerConfigurationError, str(exc), model=kwargs["model"], status=400
        ) from None
    _log_pre_call(logging_obj, call, kwargs["messages"])
    return call


def _translate(exc: Exception, call: Call) -> Exception:
    # Credential loading happens lazily at send time; surface its errors as LiteLLM types.
    if isinstance(exc, CredentialsError):
        return build_error(SageMakerCredentialsError, str(exc), model=call.model, status=401)
    return build_error(SageMakerConfigurationError, str(exc), model=call.model, status=400)


def _guard(call: Call, opener: Callable[[], Any]) -> Any:
    try:
        return opener()
    except (CredentialsError, ConfigurationError) as exc:
        raise _translate(exc, call) from None


class SageMakerOpenAI(CustomLLM):
    """LiteLLM provider for ``sagemaker_openai/<endpoint>[/<inference-component>]``.

    LiteLLM calls these methods with keyword arguments only (``model``, ``messages``,
    ``api_base``, ``api_key``, ``optional_params``, ``litellm_params``, ``headers``,
    ``timeout``, ``logging_obj`` and a few unused ones), so each takes ``**kwargs``.
    """

    def __repr__(self) -> str:
        return "SageMakerOpenAI()"

    def completion(self, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        call = _call(False, kwargs)
        return _guard(call, lambda: complete_sync(call))  # type: ignore[no-any-return]

    async def acompletion(self, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        call = _call(False, kwargs)
        try:
            return await complete_async(call)
        except (CredentialsError, ConfigurationError) as exc:
            raise _translate(exc, call) from None

    def streaming(self, **kwargs: Any) -> Iterator[Chunk]:  # type: ignore[override]
        call = _call(True, kwargs)
        response = _guard(call, lambda: open_sync(call))
        return iter_chunks(response, call)

    # A plain def, not ``async def``: it must open the request before returning (see module doc).
    def astreaming(self, **kwargs: Any) -> AsyncIterator[Chunk]:  # type: ignore[override]
        call = _call(True, kwargs)
        loop = _caller_loop.get()
        if loop is None or loop.is_closed():
            # The hook was not in litellm.callbacks for this call (e.g. a proxy config that
            # replaced the callback list). Install it for next time; this call streams lazily.
            install_loop_capture()
            return _lazy_astream(call)
        # This runs on a worker thread, so a cold mint may block here instead of on the loop.
        _guard(call, lambda: warm_token(call))
        future = asyncio.run_coroutine_threadsafe(open_async(call), loop)
        response = _guard(call, future.result)
        return aiter_chunks(response, call)


async def _lazy_astream(call: Call) -> AsyncIterator[Chunk]:
    response = await open_async(call)
    async for chunk in aiter_chunks(response, call):
        yield chunk


def _log_pre_call(logging_obj: Any, call: Call, messages: list[Any]) -> None:
    # What LiteLLM's debug log shows for this request: body and URL, never the token.
    if logging_obj is None:
        return
    logging_obj.pre_call(
        input=messages,
        api_key="",
        additional_args={
            "complete_input_dict": call.body,
            "api_base": call.url,
            "headers": {**call.headers, "Authorization": "Bearer ***"},
        },
    )
