"""Which event loop awaited an ``acompletion``: a hook records it for ``astreaming``.

LiteLLM calls ``astreaming`` in a worker of the loop's default executor, with no event loop. To
open the request on the caller's loop (so that no thread is held per stream), a CustomLogger hook
that LiteLLM awaits on that loop records the loop and the caller's task in a ContextVar, which
LiteLLM copies into the worker.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

from ._errors import PROXY_REQUEST_ID_HEADER
from ._iterators import stream_request_id


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
        """Whether this thread may start the open on ``loop`` and wait (briefly) for it.

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


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "litellm_sagemaker_openai_caller", default=None
)


def current_caller() -> Caller | None:
    """The caller the hook recorded in this context, if any."""
    return _caller.get()


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

    async def async_post_call_response_headers_hook(
        self, data: dict[str, Any], user_api_key_dict: Any, response: Any, *args: Any, **kw: Any
    ) -> dict[str, str] | None:
        """SageMaker's request id of a stream, as a proxy response header.

        A non-stream answer carries it in ``_hidden_params["additional_headers"]``, which the
        proxy sends; LiteLLM builds a stream's hidden params before the plugin sees its headers.
        """
        rid = stream_request_id(response)
        return {PROXY_REQUEST_ID_HEADER: rid} if rid is not None else None


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
