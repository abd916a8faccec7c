"""The CustomLLM that LiteLLM calls: thin glue from its arguments to ``_request``/``_send``.

Streams are opened before the iterator is returned, or at least started: errors before the
first byte then raise from ``completion(stream=True)`` itself, where the Router retries, falls
back and applies ``context_window_fallbacks``. ``streaming`` opens in the caller's own thread.
``astreaming`` runs in a worker of LiteLLM's executor, with no event loop: it starts the open on
the caller's loop (``_caller.py``) and waits there only briefly (``_open.py``), so that no thread
is held while a slow first byte is on its way. The rule that keeps even that wait safe: nothing
the open needs may run on that same executor (DNS and token mints run on the plugin's own pools,
see ``_threads.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import ModelResponse

from ._caller import current_caller, install_loop_capture, leave_logging_lists
from ._errors import SageMakerConfigurationError, build_error, setup_error
from ._exceptions import ConfigurationError, CredentialsError
from ._iterators import AsyncChunkStream, ChunkStream, remember_stream
from ._open import PendingOpen, open_translated
from ._options import Options
from ._request import Call, prepare
from ._routing import PROVIDER
from ._send import complete_async, complete_sync, open_sync
from ._stream import Chunk


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
        options = Options.from_litellm(kwargs)
        call = prepare(kwargs["model"], kwargs["messages"], options, optional_params, stream=stream)
    except ConfigurationError as exc:
        raise build_error(
            SageMakerConfigurationError, str(exc), model=kwargs["model"], status=400
        ) from None
    _log_pre_call(logging_obj, call, kwargs["messages"])
    return call


def _guard(call: Call, opener: Callable[[], Any]) -> Any:
    try:
        return opener()
    except (CredentialsError, ConfigurationError) as exc:
        raise setup_error(exc, model=call.model) from None


def _refusal(kwargs: dict[str, Any], what: str) -> Exception:
    model = kwargs.get("model") or PROVIDER
    message = (
        f"{PROVIDER} serves chat completions only: SageMaker's OpenAI-compatible route is "
        f"/openai/v1/chat/completions, and has no {what}. Call litellm.completion or "
        "acompletion (a proxy's /v1/chat/completions), or reach this endpoint's other tasks "
        "through LiteLLM's sagemaker/ provider, which calls InvokeEndpoint"
    )
    return build_error(SageMakerConfigurationError, message, model=str(model), status=400)


def _refuse(what: str) -> Callable[..., Any]:
    """A CustomLLM method for a call the route cannot serve: a 400 at once, never retried.

    LiteLLM's own defaults raise a 500 "Not implemented yet!", which the Router retries.
    """

    def refuse(self: CustomLLM, **kwargs: Any) -> Any:
        raise _refusal(kwargs, what)

    return refuse


def _arefuse(what: str) -> Callable[..., Any]:
    """The async twin of :func:`_refuse`."""

    async def refuse(self: CustomLLM, **kwargs: Any) -> Any:
        raise _refusal(kwargs, what)

    return refuse


class SageMakerOpenAI(CustomLLM):
    """LiteLLM provider for ``sagemaker_openai/<endpoint>[/<inference-component>]``.

    LiteLLM calls these methods with keyword arguments only (``model``, ``messages``,
    ``api_base``, ``api_key``, ``optional_params``, ``litellm_params``, ``headers``,
    ``timeout``, ``logging_obj`` and a few unused ones), so each takes ``**kwargs``.
    """

    def __repr__(self) -> str:
        return "SageMakerOpenAI()"

    # Every other call LiteLLM routes to a CustomLLM (litellm/llms/custom_llm.py).
    embedding = _refuse("embeddings endpoint")
    aembedding = _arefuse("embeddings endpoint")
    image_generation = _refuse("image generation")
    aimage_generation = _arefuse("image generation")
    image_edit = _refuse("image editing")
    aimage_edit = _arefuse("image editing")

    def completion(self, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        call = _call(False, kwargs)
        return _guard(call, lambda: complete_sync(call))  # type: ignore[no-any-return]

    async def acompletion(self, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        call = _call(False, kwargs)
        try:
            return await complete_async(call)
        except (CredentialsError, ConfigurationError) as exc:
            raise setup_error(exc, model=call.model) from None

    def streaming(self, **kwargs: Any) -> Iterator[Chunk]:  # type: ignore[override]
        call = _call(True, kwargs)
        response = _guard(call, lambda: open_sync(call))
        stream = ChunkStream(call, response)
        remember_stream(kwargs.get("logging_obj"), stream)
        return stream

    # A plain def, not ``async def``: it must start the open before returning (module doc).
    def astreaming(self, **kwargs: Any) -> AsyncIterator[Chunk]:  # type: ignore[override]
        call = _call(True, kwargs)
        caller = current_caller()
        call_id = (kwargs.get("litellm_params") or {}).get("litellm_call_id")
        if caller is None or not caller.can_wait(call_id):
            # The hook did not run for this call (e.g. a proxy config that replaced the callback
            # list): install it for next time; this call opens on its first read.
            install_loop_capture()
            return AsyncChunkStream(call, opener=open_translated)
        pending = PendingOpen(caller, call)
        if pending.wait_briefly():
            response = pending.future.result()  # raises the open's error, typed
            stream = AsyncChunkStream(call, response, caller.loop)
        else:
            stream = AsyncChunkStream(call, loop=caller.loop, pending=pending.future)
        remember_stream(kwargs.get("logging_obj"), stream)
        return stream


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
