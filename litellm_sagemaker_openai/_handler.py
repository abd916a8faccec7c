"""The CustomLLM that LiteLLM calls: thin glue from its arguments to ``_request``/``_send``.

Streams are opened *before* the iterator is returned, so errors before the first byte
raise from ``completion(stream=True)`` itself, where the Router retries, falls back and
applies ``context_window_fallbacks``. LiteLLM calls ``astreaming`` in a worker of the loop's
default executor, with no event loop; to open the request on the caller's loop (so no thread
is held per stream), a CustomLogger hook that LiteLLM awaits on that loop records the loop and
the caller's task in a ContextVar, which LiteLLM copies into the worker. The worker then waits
for the response headers. The rule that keeps that wait safe: nothing the open needs may run
on that same executor (DNS and token mints run on the plugin's own pools, see ``_threads.py``),
and a caller that gives up takes the open with it.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import ModelResponse

from ._coalesce import OPTION, coalesce_option
from ._errors import (
    SageMakerConfigurationError,
    SageMakerCredentialsError,
    build_error,
)
from ._exceptions import ConfigurationError, CredentialsError
from ._request import Call, prepare
from ._send import complete_async, complete_sync, open_async, open_sync
from ._stream import AsyncChunkStream, Chunk, ChunkStream


@dataclass(frozen=True)
class Caller:
    """The event loop and task that awaited one ``acompletion``, as the hook saw them."""

    call_id: str | None
    loop: asyncio.AbstractEventLoop
    # Weak: the Caller is stored in a ContextVar of the task's own context, so a strong
    # reference would make task -> context -> Caller -> task a cycle. Refcounting could then
    # never free a finished request's task, nor the stream chunks it still references; they
    # would wait for a full garbage collection, whose pause stalls every stream of a proxy.
    task_ref: Callable[[], asyncio.Task[Any] | None] | None

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The caller's task, while it exists."""
        return None if self.task_ref is None else self.task_ref()

    def can_wait(self, call_id: str | None) -> bool:
        """Whether this thread may block until ``loop`` opens the stream.

        Only for the same call (a context copied into another task carries a stale value),
        on a live loop, from a thread that is not running a loop itself.
        """
        if call_id != self.call_id or self.loop.is_closed() or not self.loop.is_running():
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return True
        return False

    def open(self, call: Call) -> httpx.Response:
        """Open ``call`` on the caller's loop and wait for the response headers."""
        return asyncio.run_coroutine_threadsafe(_open_for(self.task, call), self.loop).result()


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "litellm_sagemaker_openai_caller", default=None
)


class LoopCapture(CustomLogger):
    """Records the caller's loop and task for ``astreaming`` (which LiteLLM runs in a thread).

    It is a hook, not a logger: see :func:`leave_logging_lists`.
    """

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        leave_logging_lists()
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        _caller.set(
            Caller(kwargs.get("litellm_call_id"), loop, None if task is None else weakref.ref(task))
        )
        return None


LOOP_CAPTURE = LoopCapture()
# Where LiteLLM copies every entry of litellm.callbacks at the start of each call.
LOGGING_LISTS = (
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def leave_logging_lists() -> None:
    """Take :data:`LOOP_CAPTURE` out of LiteLLM's logging lists, where each call puts it back.

    It logs nothing, but merely being listed there is costly: with ``litellm_enterprise``
    installed (it comes with ``litellm[proxy]``), LiteLLM's success handler checks every listed
    callback against a registry whose first import takes 1-3 s, and does so on the caller's
    event loop, stalling every stream of the process (openai/ ones too) after the first call.
    """
    for name in LOGGING_LISTS:
        entries = getattr(litellm, name, None)
        if isinstance(entries, list) and LOOP_CAPTURE in entries:
            entries.remove(LOOP_CAPTURE)


def install_loop_capture() -> None:
    """Put :data:`LOOP_CAPTURE` in ``litellm.callbacks`` once (append, never replace)."""
    if LOOP_CAPTURE not in litellm.callbacks:
        litellm.callbacks.append(LOOP_CAPTURE)


async def _open_for(caller: asyncio.Task[Any] | None, call: Call) -> httpx.Response:
    """Open on the caller's loop; give up, closing what was opened, if the caller is cancelled.

    The caller's task waits on LiteLLM's executor thread, which waits on this: when the caller
    is cancelled (``asyncio.wait_for``, a client disconnect), nobody would ever read or close
    the response, so its connection would stay taken for good.
    """
    if caller is None:
        return await open_async(call)
    if caller.done():
        raise asyncio.CancelledError
    this = asyncio.current_task()

    def abandon(_: object) -> None:
        if this is not None:
            this.cancel()

    caller.add_done_callback(abandon)
    try:
        response = await open_async(call)
    finally:
        caller.remove_done_callback(abandon)
    if caller.done():  # cancelled just as the headers arrived
        await response.aclose()
        raise asyncio.CancelledError
    return response


def _call(stream: bool, kwargs: dict[str, Any]) -> Call:
    """Validate LiteLLM's handler arguments into a Call; logs the request (token masked)."""
    leave_logging_lists()  # sync calls run no hook: this is where they get it out
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


def _coalesce(kwargs: dict[str, Any]) -> bool:
    """The deployment's ``stream_coalesce`` (LiteLLM puts it in optional_params)."""
    params: dict[str, Any] = kwargs.get("optional_params") or {}
    if OPTION not in params:
        params = kwargs.get("litellm_params") or {}
    try:
        return coalesce_option(params)
    except ConfigurationError as exc:
        raise build_error(
            SageMakerConfigurationError, str(exc), model=kwargs["model"], status=400
        ) from None


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
        coalesce = _coalesce(kwargs)
        call = _call(True, kwargs)
        response = _guard(call, lambda: open_sync(call))
        return ChunkStream(call, response, coalesce)

    # A plain def, not ``async def``: it must open the request before returning (see module doc).
    def astreaming(self, **kwargs: Any) -> AsyncIterator[Chunk]:  # type: ignore[override]
        coalesce = _coalesce(kwargs)
        call = _call(True, kwargs)
        caller = _caller.get()
        call_id = (kwargs.get("litellm_params") or {}).get("litellm_call_id")
        if caller is None or not caller.can_wait(call_id):
            # The hook did not run for this call (e.g. a proxy config that replaced the callback
            # list): install it for next time; this call opens on its first read.
            install_loop_capture()
            return AsyncChunkStream(call, opener=_open_translated, coalesce=coalesce)
        response = _guard(call, lambda: caller.open(call))
        return AsyncChunkStream(call, response, caller.loop, coalesce=coalesce)


async def _open_translated(call: Call) -> httpx.Response:
    try:
        return await open_async(call)
    except (CredentialsError, ConfigurationError) as exc:
        raise _translate(exc, call) from None


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
