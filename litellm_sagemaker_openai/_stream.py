"""Turn the container's SSE payloads into LiteLLM stream chunks without losing fields.

"Pattern E" (shared/research/litellm_mechanics.md §3): every chunk that has choices becomes a
``ModelResponseStream`` built from the JSON as is, which keeps tool-call ids and argument
deltas, ``reasoning_content``, logprobs, ``id`` and ``system_fingerprint``. The container's
usage is held back and sent last as one ``GenericStreamingChunk`` carrying the real
``finish_reason``, which is the only shape LiteLLM accepts after a finish and the one that
makes the logged cost use the container's token counts.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any, Final

import httpx
from litellm.types.utils import GenericStreamingChunk, ModelResponseStream

from ._answer import check_chunk, drop_stated_cost
from ._batches import ReadAhead
from ._cost import cost_of
from ._errors import (
    REQUEST_ID_HEADER,
    SageMakerStreamError,
    answer_error,
    error_for_status,
    error_for_transport,
    request_id,
)
from ._exceptions import StreamError
from ._request import Call
from ._routing import PROVIDER
from ._sse import SSEDecoder, aiter_sse, iter_sse
from ._template import ChunkBuilder
from ._window import Window, aiter_windows, iter_windows

Chunk = ModelResponseStream | GenericStreamingChunk
# After [DONE] the body should end at once. Reading its terminator returns the connection to the
# pool (no new TCP/TLS handshake for the next stream); a server that keeps talking is cut off.
DRAIN_LIMIT: Final = 64 * 1024
DRAIN_TIMEOUT: Final = 0.1


class ChunkConverter:
    """Stateful per-stream conversion; shared by the sync and async iterators."""

    __slots__ = ("_builder", "_call", "_response", "finish_reason", "usage")

    def __init__(self, call: Call, response: httpx.Response | None = None) -> None:
        self._call = call
        self._response = response  # for SageMaker's request id, on chunks and errors
        self._builder = ChunkBuilder()
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def convert(self, payload: str) -> ModelResponseStream | None:
        """One SSE payload -> a chunk for LiteLLM (or None when it only carried usage)."""
        return self.emit(self.parse(payload))

    def hold(self, payload: str) -> dict[str, Any]:
        """:meth:`parse` for the window: usage is kept aside, so it never stops a merge."""
        data = self.parse(payload)
        self._keep_usage(data)
        return data

    def parse(self, payload: str) -> dict[str, Any]:
        """One SSE payload as a JSON object; a container error event raises its mapped error."""
        try:
            data = json.loads(payload)
        except ValueError:
            raise StreamError(
                f"the container sent an SSE event that is not JSON: {payload[:120]!r}"
            ) from None
        if not isinstance(data, dict):
            raise StreamError(
                f"the container sent an SSE event that is not an object: {payload[:120]!r}"
            )
        if data.get("error"):
            error = data["error"]
            code = error.get("code") if isinstance(error, dict) else None
            status = code if isinstance(code, int) and 400 <= code <= 599 else 500
            rid = request_id(self._response)
            raise error_for_status(
                status,
                payload.encode(),
                ref=self._call.ref,
                region=self._call.region,
                response=httpx.Response(
                    status,
                    headers={REQUEST_ID_HEADER: rid} if rid else None,
                    content=payload.encode(),
                    request=self._response.request if self._response is not None else None,
                ),
            )
        check_chunk(data)
        return data

    def emit(self, data: dict[str, Any]) -> ModelResponseStream | None:
        """A parsed payload as a chunk for LiteLLM; its usage is held back for :meth:`final`."""
        self._keep_usage(data)
        choices = data.get("choices")
        if not choices:
            return None
        for choice in choices:
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        # Each chunk says what a non-stream answer says (see _send.parse_completion): the
        # deployment as ``model``, the provider and the container's own name in the hidden
        # params. LiteLLM >= 1.110 builds a streamed response's hidden params from its *first*
        # chunk, so without them ``completion_cost`` of a built stream cannot find the provider.
        container_model = data.get("model")
        data["model"] = self._call.name
        chunk = self._builder.build(data)
        chunk._hidden_params = {
            "custom_llm_provider": PROVIDER,
            "container_model": container_model,
            "sagemaker_request_id": request_id(self._response),
        }
        return chunk

    def _keep_usage(self, data: dict[str, Any]) -> None:
        usage = data.pop("usage", None)
        drop_stated_cost(usage)
        if usage:
            # With continuous usage stats every chunk carries a running total: keep the last.
            self.usage = usage

    def final(self, cost: float | None = None) -> GenericStreamingChunk | None:
        """The usage chunk to send after the last content chunk, if the container gave usage.

        ``cost``, the stream's instance-hour cost, rides in it as ``usage.cost``: LiteLLM takes
        that as the stated cost of the stream (``_answer.state_cost`` for non-stream answers).
        """
        if self.usage is None:
            return None
        usage = self.usage if cost is None else {**self.usage, "cost": cost}
        return GenericStreamingChunk(
            text="",
            tool_use=None,
            is_finished=True,
            finish_reason=self.finish_reason or "stop",
            usage=usage,  # type: ignore[typeddict-item]
            index=0,
        )

    def check_complete(self, decoder: SSEDecoder) -> None:
        """A stream that ends with neither ``[DONE]`` nor a finish_reason was cut short."""
        if not decoder.done and self.finish_reason is None:
            raise answer_error(
                "the stream ended before [DONE] and before any finish_reason: the container or "
                "the connection closed mid-answer, so the reply is incomplete",
                model=self._call.model,
                answer=self._response,
            )


def _wrap(exc: Exception, call: Call, response: httpx.Response) -> Exception:
    if isinstance(exc, StreamError) and not isinstance(exc, SageMakerStreamError):
        return answer_error(str(exc), model=call.model, answer=response)
    if isinstance(exc, httpx.RequestError):  # transport failures, and DecodingError (bad gzip)
        return error_for_transport(exc, model=call.model, url=call.url, response=response)
    return exc


def _shorten_read_timeout(response: httpx.Response) -> None:
    # httpcore reads this dict on every receive, so the drain waits 0.1 s, not the call's timeout.
    timeout = response.request.extensions.get("timeout")
    if isinstance(timeout, dict):
        timeout["read"] = DRAIN_TIMEOUT


def _drain(raw: Iterator[bytes], response: httpx.Response) -> None:
    _shorten_read_timeout(response)
    total = 0
    try:
        for chunk in raw:
            total += len(chunk)
            if total > DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        return


async def _adrain(raw: AsyncIterator[bytes], response: httpx.Response) -> None:
    _shorten_read_timeout(response)
    total = 0
    try:
        async for chunk in raw:
            total += len(chunk)
            if total > DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        return


def _emit(converter: ChunkConverter, run: list[dict[str, Any]]) -> Iterator[ModelResponseStream]:
    for data in run:
        chunk = converter.emit(data)
        if chunk is not None:
            yield chunk


def iter_chunks(response: httpx.Response, call: Call) -> Generator[Chunk, None, None]:
    """Sync stream of LiteLLM chunks over an open response; always closes it."""
    converter, decoder = ChunkConverter(call, response), SSEDecoder()
    raw = response.iter_bytes()
    try:
        if call.options.stream_coalesce_ms:
            window = Window(call.options.stream_coalesce_ms)
            for run in iter_windows(raw, decoder, response, window, converter.hold):
                yield from _emit(converter, run)
        else:
            for payload in iter_sse(raw, decoder):
                chunk = converter.convert(payload)
                if chunk is not None:
                    yield chunk
        converter.check_complete(decoder)
        if decoder.done:
            _drain(raw, response)
    except (StreamError, httpx.RequestError) as exc:
        raise _wrap(exc, call, response) from None
    finally:
        response.close()
    final = converter.final(cost_of(response))
    if final is not None:
        yield final


async def aiter_chunks(response: httpx.Response, call: Call) -> AsyncGenerator[Chunk, None]:
    """Async twin of :func:`iter_chunks`; the coalescing window reads ahead (see ``_batches``)."""
    converter, decoder = ChunkConverter(call, response), SSEDecoder()
    raw = response.aiter_bytes()
    ahead = ReadAhead(raw, decoder) if call.options.stream_coalesce_ms else None
    try:
        if ahead is not None:
            window = Window(call.options.stream_coalesce_ms)
            # Closed here, not by the loop's finalizer: a caller that leaves leaves no task.
            async with contextlib.aclosing(aiter_windows(ahead, window, converter.hold)) as runs:
                async for run in runs:
                    for merged in _emit(converter, run):
                        yield merged
        else:
            async for payload in aiter_sse(raw, decoder):
                chunk = converter.convert(payload)
                if chunk is not None:
                    yield chunk
        converter.check_complete(decoder)
        if decoder.done:
            await _adrain(raw, response)
    except (StreamError, httpx.RequestError) as exc:
        raise _wrap(exc, call, response) from None
    finally:
        if ahead is not None:
            await ahead.stop()
        await response.aclose()
    final = converter.final(cost_of(response))
    if final is not None:
        yield final
