"""Send a :class:`Call`: bearer auth from the cache, one resend after 401/403 or a stale
keep-alive connection, error mapping.

The response is always opened in streaming mode and checked before anything is returned,
so an error before the first byte raises here, where LiteLLM's Router can retry it and
fall back, for streams as well as for plain calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import httpx
from litellm.types.utils import ModelResponse

from ._answer import completion_response, state_cost
from ._capacity import wait_async, wait_sync
from ._clients import async_client, sync_client
from ._cost import Interval, attach, cost_of, start
from ._errors import (
    PROXY_REQUEST_ID_HEADER,
    answer_error,
    error_for_status,
    error_for_transport,
    request_id,
)
from ._exceptions import StreamError
from ._hints import with_hint
from ._network import certificate_error, certificate_failure
from ._request import Call
from ._routing import PROVIDER
from ._tokens import TokenCache
from ._transport import Exchange, Origin, exchange, origin_of

AUTH_RETRY_STATUSES: Final = frozenset({401, 403})
# SageMaker caps a response payload at 6 MiB; a body past this is not an answer, and is not
# buffered until memory or the timeout runs out.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
TOKENS: Final = TokenCache()  # process-wide: 1,000 calls with the same credentials mint once


def _request(call: Call, token: str, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
    headers = {**call.headers, "Authorization": f"Bearer {token}"}
    return client.build_request(
        "POST", call.url, content=call.content, headers=headers, timeout=call.timeout
    )


def _token(call: Call) -> str:
    expiry = call.options.token_expiry
    return call.static_token or TOKENS.get(call.spec or _no_spec(), call.region, expiry)


def _no_spec() -> Any:
    raise AssertionError("a Call has either a static token or a credential spec")


def _too_big(call: Call, response: httpx.Response) -> Exception:
    return answer_error(
        f"the container's answer exceeded {MAX_BODY_BYTES} bytes (SageMaker's limit is 6 MiB)",
        model=call.model,
        answer=response,
    )


def read_bounded(call: Call, response: httpx.Response) -> bytes:
    """The decoded body, refusing more than MAX_BODY_BYTES. Maps transport errors."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise _too_big(call, response)
    except httpx.RequestError as exc:  # transport failures, and DecodingError (bad gzip)
        raise error_for_transport(exc, model=call.model, url=call.url, response=response) from None
    finally:
        response.close()
    return bytes(body)


async def aread_bounded(call: Call, response: httpx.Response) -> bytes:
    """Async twin of :func:`read_bounded`."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise _too_big(call, response)
    except httpx.RequestError as exc:  # transport failures, and DecodingError (bad gzip)
        raise error_for_transport(exc, model=call.model, url=call.url, response=response) from None
    finally:
        await response.aclose()
    return bytes(body)


def _error(call: Call, response: httpx.Response, body: bytes) -> Exception:
    # A copy with the body in place: LiteLLM's exception classes read response.content/.json().
    readable = httpx.Response(
        response.status_code, headers=response.headers, content=body, request=response.request
    )
    return error_for_status(
        response.status_code, body, ref=call.ref, region=call.region, response=readable
    )


class _Retries:
    """At most one resend per reason: a refused cached token, and a stale keep-alive connection."""

    __slots__ = ("_auth_used", "_call", "_stale_used", "fresh_only")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._auth_used = False
        self._stale_used = False
        self.fresh_only: Origin | None = None  # set for the one attempt after a stale failure

    def after_transport_error(self, state: Exchange) -> bool:
        """Resend after a reused connection failed before any response byte (never later).

        The server had closed the idle connection as it was reused (the OpenAI SDK and botocore
        resend too). The resend must not take another idle connection to the same origin, which
        is likely just as stale.
        """
        self.fresh_only = None
        if self._stale_used or not state.stale:
            return False
        self._stale_used = True
        self.fresh_only = origin_of(httpx.URL(self._call.url))
        return True

    def after_status(self, response: httpx.Response, token: str) -> bool:
        """Resend once after 401/403 with a fresh mint.

        A cached token can be refused after a clock jump or a credential rotation. A caller's
        pre-minted token is theirs to renew, so it is not retried.
        """
        self.fresh_only = None
        call = self._call
        if self._auth_used or response.status_code not in AUTH_RETRY_STATUSES:
            return False
        if call.spec is None:
            return False
        self._auth_used = True
        TOKENS.invalidate(call.spec, call.region, token, call.options.token_expiry)
        return True


def _transport_error(call: Call, exc: httpx.TransportError) -> Exception:
    failure = certificate_failure(exc)
    if failure is not None:
        network = call.network
        return certificate_error(
            failure, model=call.model, url=call.url, trusted=network.source,
            proxied=any(value.startswith("https://") for _, value in network.proxy_env),
        )  # fmt: skip
    hinted = with_hint(exc, call.url, from_env=call.options.api_base is None)
    return error_for_transport(hinted, model=call.model, url=call.url)


def _meter(call: Call) -> Interval | None:
    """Start metering the instance time of a request about to be sent (see _cost.py)."""
    options = call.options
    return start(call.url, options.instance_cost_per_hour, options.instance_count)


def _stop(interval: Interval | None) -> None:
    if interval is not None:
        interval.stop()


def open_sync(call: Call) -> httpx.Response:
    """Send and return an open, successful (2xx) response. Raises LiteLLM exceptions.

    A component scaling from zero is waited for within ``wait_for_capacity`` (``_capacity.py``).
    """
    return wait_sync(call, lambda: _open_once_sync(call))


def _open_once_sync(call: Call) -> httpx.Response:
    client = sync_client(call.network)
    retries = _Retries(call)
    while True:
        token = _token(call)
        interval = _meter(call)
        with exchange(retries.fresh_only) as state:
            try:
                sent = client.send(_request(call, token, client), stream=True)
            except BaseException as exc:  # an interrupted send must not stay metered either
                _stop(interval)
                if not isinstance(exc, httpx.TransportError):
                    raise
                if retries.after_transport_error(state):
                    continue
                raise _transport_error(call, exc) from None
        response = attach(sent, interval)
        if response.status_code < 300:  # 3xx: not followed, an error
            return response
        body = read_bounded(call, response)
        if not retries.after_status(response, token):
            raise _error(call, response, body)


async def open_async(call: Call, on_sent: Callable[[], None] | None = None) -> httpx.Response:
    """Async twin of :func:`open_sync`; must run on the loop that will read the stream.

    ``on_sent`` is called when the request starts going out: connecting, TLS and the token are
    behind it (see ``_open.py``).
    """
    return await wait_async(call, lambda: _open_once_async(call, on_sent))


async def _open_once_async(call: Call, on_sent: Callable[[], None] | None) -> httpx.Response:
    client = async_client(call.network)
    retries = _Retries(call)
    while True:
        expiry = call.options.token_expiry
        token = call.static_token or await TOKENS.aget(call.spec or _no_spec(), call.region, expiry)
        interval = _meter(call)
        with exchange(retries.fresh_only, on_sent) as state:
            try:
                sent = await client.send(_request(call, token, client), stream=True)
            except BaseException as exc:  # a cancelled open must not stay metered either
                _stop(interval)
                if not isinstance(exc, httpx.TransportError):
                    raise
                if retries.after_transport_error(state):
                    continue
                raise _transport_error(call, exc) from None
        response = attach(sent, interval)
        if response.status_code < 300:  # 3xx: not followed, an error
            return response
        body = await aread_bounded(call, response)
        if not retries.after_status(response, token):
            raise _error(call, response, body)


def parse_completion(call: Call, response: httpx.Response, body: bytes) -> ModelResponse:
    """A non-stream body -> ModelResponse, keeping every field the container sent."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    try:
        result = completion_response(data)
    except StreamError as exc:
        kind = response.headers.get("content-type", "no content type")
        raise answer_error(
            f"{exc} (a {kind} answer to a non-stream request: {body[:120]!r})",
            model=call.model,
            answer=response,
        ) from None
    # ``model`` names what was called, as LiteLLM's bedrock and sagemaker providers and its own
    # stream builder do: the deployment, priced as sagemaker_openai/<model>. The container's name
    # for itself (often just "default" or a local path) is kept beside it.
    result._hidden_params.update(custom_llm_provider=PROVIDER, container_model=result.model)
    rid = request_id(response)
    if rid is not None:
        # additional_headers' llm_provider-* entries become the proxy's response headers.
        result._hidden_params.update(
            sagemaker_request_id=rid, additional_headers={PROXY_REQUEST_ID_HEADER: rid}
        )
    result.model = call.name
    cost = cost_of(response)
    if cost is not None:
        state_cost(result, cost)
    return result


def complete_sync(call: Call) -> ModelResponse:
    """A whole non-stream call."""
    response = open_sync(call)
    return parse_completion(call, response, read_bounded(call, response))


async def complete_async(call: Call) -> ModelResponse:
    """Async twin of :func:`complete_sync`."""
    response = await open_async(call)
    return parse_completion(call, response, await aread_bounded(call, response))
