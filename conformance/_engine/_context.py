"""The context checks run in: request helpers over httpx that record and cache every exchange."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import httpx

from .._wire._client import encode_body, new_client, perform, sdk_headers
from .._wire._exchange import Exchange, trim_bytes
from .._wire._limits import LARGE_ANSWER, MAX_RETAINED_BYTES, BudgetExhausted, Limits
from .._wire._target import Target
from ._capabilities import CAPABILITY_LABELS, CAPABILITY_PROBES
from ._registry import CheckSkipped

OMIT: Final[Any] = object()  # ctx.body(max_tokens=OMIT) removes a key from the default body
DEFAULT_PROMPT: Final = "Say OK"
DEFAULT_MAX_TOKENS: Final = 16


class CheckContext:
    """Gives checks ``chat()``/``stream()`` helpers; every exchange is recorded and cached.

    Requests with the same method, path, headers and body are sent once per run, so checks
    can share the default request freely; pass ``cache=False`` to force a fresh one.
    """

    def __init__(
        self,
        target: Target,
        *,
        model: str = "",
        client: httpx.Client | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.target = target
        self.model = model
        self.limits = (limits or Limits()).start()
        self.exchanges: list[Exchange] = []
        self._client = client or new_client(target.base_url)
        self._owns_client = client is None
        self._cache: dict[tuple[Any, ...], Exchange] = {}
        self._lock = threading.Lock()
        self._token: str | None = None
        self._retained = 0

    def child(self, target: Target) -> CheckContext:
        """A context for another target (a faulty copy) sharing this run's model and budget."""
        return CheckContext(target, model=self.model, limits=self.limits)

    @contextmanager
    def container(self) -> Iterator[CheckContext]:
        """The container itself: this context in direct mode; in mock mode, the container
        behind the emulator, reached directly (its exchanges join this run's).

        Raises:
            CheckSkipped: the container's own URL is unknown (live mode: SageMaker checks
                /ping itself).
        """
        if self.mode == "direct":
            yield self
            return
        if self.target.container is None:
            raise CheckSkipped(
                f"the container's own URL is unknown in {self.mode} mode; run the kit against "
                "the container (--target URL, direct or mock mode) to check /ping and /invocations"
            )
        inner = self.child(Target.direct(self.target.container))
        try:
            yield inner
        finally:
            inner.close()
            self.exchanges.extend(inner.exchanges)

    @property
    def mode(self) -> str:
        """The target's mode: direct, mock or live."""
        return self.target.mode

    @property
    def requests_sent(self) -> int:
        """HTTP requests actually sent so far (cache hits are not counted)."""
        return len(self.exchanges)

    def close(self) -> None:
        """Close the HTTP client if the context created it."""
        if self._owns_client:
            self._client.close()

    # -- request building -------------------------------------------------------------------

    def body(self, **overrides: Any) -> dict[str, Any]:
        """The default chat body (anchors §4) with overrides; ``OMIT`` removes a key."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": DEFAULT_PROMPT}],
            "temperature": 0,
            "max_completion_tokens": DEFAULT_MAX_TOKENS,
        }
        for key, value in overrides.items():
            if value is OMIT:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    def token(self) -> str | None:
        """The bearer token for mock and live targets, minted once per run."""
        if self.target.token_factory is None:
            return None
        if self._token is None:
            self._token = self.target.token_factory()
        return self._token

    def _headers(self, extra: Mapping[str, str | None] | None) -> dict[str, str]:
        headers: dict[str, str | None] = dict(sdk_headers(self.limits.request_timeout))
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for key, value in (extra or {}).items():
            for existing in [k for k in headers if k.lower() == key.lower()]:
                del headers[existing]
            headers[key] = value
        return {k: v for k, v in headers.items() if v is not None}

    # -- sending ----------------------------------------------------------------------------

    def chat(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str | None] | None = None,
        path: str | None = None,
        content: bytes | None = None,
        cache: bool = True,
    ) -> Exchange:
        """POST a non-streaming chat body (default: ``self.body()``) and record the exchange."""
        payload = self.body() if body is None else dict(body)
        raw = content if content is not None else encode_body(payload)
        return self.send("POST", path, raw, headers=headers, stream=False, cache=cache)

    def stream(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str | None] | None = None,
        path: str | None = None,
        cache: bool = True,
        cap: int | None = None,
    ) -> Exchange:
        """POST a chat body with ``stream: true`` and record every chunk as it arrives.

        ``cap``: leave (close the connection) once that many bytes arrived, as a client
        that stops reading does; the default is the run's byte cap.
        """
        payload = self.body() if body is None else dict(body)
        payload["stream"] = True
        raw = encode_body(payload)
        return self.send("POST", path, raw, headers=headers, stream=True, cache=cache, cap=cap)

    def get(self, path: str, *, timeout: float = 5.0, cache: bool = False) -> Exchange:
        """GET a path of the target (``/ping``), with its own timeout."""
        return self.send(
            "GET", path, b"", headers={"Content-Type": None}, timeout=timeout, cache=cache
        )

    def send(
        self,
        method: str,
        path: str | None,
        content: bytes,
        *,
        headers: Mapping[str, str | None] | None = None,
        stream: bool = False,
        cache: bool = True,
        timeout: float | None = None,
        cap: int | None = None,
    ) -> Exchange:
        """Send one request, reading the body chunk by chunk with arrival times.

        The whole exchange gets ``timeout`` (default: the request timeout) or what is left of
        the budget, whichever ends first; an answer past the byte cap is cut off.

        Raises:
            BudgetExhausted: the budget ran out before or during the request.
        """
        url = self.target.url(path)
        sent_headers = self._headers(headers)
        key = (method, url, content, tuple(sorted(sent_headers.items())), stream, cap)
        if cache:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
        until, by_budget = self.limits.request_deadline(timeout)
        ex = Exchange(
            method, url, sent_headers, content, stream=stream, started=time.perf_counter()
        )
        limit = self.limits.max_response_bytes if cap is None else cap
        perform(self._client, ex, until=until, cap=limit)
        if by_budget and time.monotonic() >= until and not ex.complete:
            # Cut by the run's budget, not by the target's slowness: no verdict on it.
            raise BudgetExhausted(f"the {self.limits.budget:g} s budget ran out")
        with self._lock:
            self._retain(ex)
            self.exchanges.append(ex)
            if cache:
                self._cache[key] = ex
        return ex

    def _retain(self, ex: Exchange) -> None:
        size = sum(len(chunk) for _, chunk in ex.chunks)
        if size > LARGE_ANSWER and self._retained + size > MAX_RETAINED_BYTES:
            ex.cut_off(
                f"the run already holds {MAX_RETAINED_BYTES // 1_048_576} MiB of answers", size
            )
            size = sum(len(chunk) for _, chunk in ex.chunks)
        self._retained += size

    def alive(self) -> Exchange:
        """A fresh minimal request: does the target still answer at all?"""
        return self.chat(self.body(max_completion_tokens=1), cache=False)

    # -- shared verdict helpers -------------------------------------------------------------

    def probe_body(self, capability: str) -> dict[str, Any]:
        """The body that shows whether the container supports a capability."""
        return self.body(**CAPABILITY_PROBES[capability])

    def probe(self, capability: str) -> Exchange:
        """The (cached) probe request for a capability: streaming only for include_usage."""
        body = self.probe_body(capability)
        return self.stream(body) if capability == "include_usage" else self.chat(body)

    def require(self, capability: str) -> None:
        """Skip the calling check if the container refuses ``capability`` with a clean 4xx.

        A 200 means supported (the check then verifies it was honoured, not ignored); a 5xx
        or a non-JSON error is left for the check to fail on.
        """
        ex = self.probe(capability)
        if ex.status is None or not 400 <= ex.status < 500:
            return
        self.expect_baseline(stream=ex.stream)
        if isinstance(ex.json, dict) and ex.content_type.endswith("json"):
            raise CheckSkipped(
                f"the container refuses {CAPABILITY_LABELS[capability]} with a clean "
                f"{ex.describe()}; checks that need it are skipped"
            )

    def expect_baseline(self, *, stream: bool) -> Exchange:
        """The default request of a kind; skip as *blocked* if it failed (another check owns it)."""
        base = self.stream() if stream else self.chat()
        kind = "streaming request" if stream else "request"
        if base.status != 200:
            owner = "sse.content_type" if stream else "container.route"
            raise CheckSkipped(f"blocked: the default {kind} got {base.describe()}; see {owner}")
        if base.cut is not None:
            owner = "sse.stream_ends" if stream else "container.route"
            raise CheckSkipped(f"blocked: the default {kind} was cut off: {base.cut}; see {owner}")
        return base

    def expect_ok(self, ex: Exchange, what: str = "the request") -> Exchange:
        """Fail unless ``ex`` is a whole 200; skip as blocked if the default request fails too."""
        if ex.status == 200 and ex.cut is None:
            return ex
        self.expect_baseline(stream=ex.stream)
        raise ex.failure(f"{what} got {ex.describe()}")

    def events(
        self, ex: Exchange, what: str = "the stream", *, errors: bool = False
    ) -> list[tuple[dict[str, Any], bytes]]:
        """(JSON object, raw event bytes) per chunk of a 200 SSE stream, up to ``[DONE]``.

        Uses the strict parser. Events that are not JSON objects are left to sse.framing. A
        stream with no SSE events, or (unless ``errors``) one carrying an error frame, skips
        the caller as blocked when another check owns the problem, and fails it otherwise.
        """
        self.expect_ok(ex, what)
        base = self.expect_baseline(stream=True) if ex.stream else None
        if not ex.spec.events:
            reason = "JSON lines, not SSE" if ex.is_jsonlines else "no SSE events"
            if base is None or not base.spec.events or ex is base:
                raise CheckSkipped(f"blocked: the stream carried {reason}; see sse.framing")
            raise ex.failure(f"{what} carried {reason}")
        found: list[tuple[dict[str, Any], bytes]] = []
        for event in ex.spec.events:
            if event.data == "[DONE]":
                break
            try:
                payload = json.loads(event.data)
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
            if payload.get("error") and not errors:
                message = f"{what} ended in an error frame: {trim_bytes(event.raw, 160)}"
                if base is None or ex is base or _has_error_frame(base):
                    raise CheckSkipped(f"blocked: {message}; see chunk.no_error_key")
                raise ex.failure(message, event.raw)
            found.append((payload, event.raw))
        return found

    def chunks(self, ex: Exchange, what: str = "the stream") -> list[dict[str, Any]]:
        """The JSON-object chunks of a 200 SSE stream, up to ``[DONE]``."""
        return [payload for payload, _ in self.events(ex, what)]


def _has_error_frame(ex: Exchange) -> bool:
    for event in ex.spec.events:
        try:
            payload = json.loads(event.data)
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("error"):
            return True
    return False
