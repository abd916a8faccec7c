"""What goes on the wire: requests shaped like the OpenAI Python SDK's, answers read within bounds.

The kit should be judged by what real clients send, so its headers and body encoding copy
openai-python (``_base_client.platform_headers``, ``_utils._json.openapi_dumps``), which the
AWS sample client uses; tests compare them with the installed SDK's real requests.
"""

from __future__ import annotations

import json
import platform
import time
import urllib.request
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from ._deadline import DeadlineTransport, deadline
from ._exchange import Exchange
from ._limits import Limits

SDK_VERSION: Final = "2.54.0"  # the openai-python release the SDK replica was checked against
CONNECT_TIMEOUT: Final = 5.0
REACH_TIMEOUT: Final = 5.0  # the reachability probe's deadline, at most
# Errors that mean no connection was opened: nothing listens there, or the host does not exist.
_NOT_CONNECTED: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)
_OS_NAMES: Final = {"linux": "Linux", "darwin": "MacOS", "windows": "Windows"}
_ARCH_NAMES: Final = {"x86_64": "x64", "amd64": "x64", "arm64": "arm64", "aarch64": "arm64"}


def sdk_headers(read_timeout: float) -> dict[str, str]:
    """The headers openai-python sends on every request (Accept is JSON even for streams)."""
    system, machine = platform.system().lower(), platform.machine().lower()
    return {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "Content-Type": "application/json",
        "User-Agent": f"OpenAI/Python {SDK_VERSION}",
        "X-Stainless-Lang": "python",
        "X-Stainless-Package-Version": SDK_VERSION,
        "X-Stainless-OS": _OS_NAMES.get(system, f"Other:{system}"),
        "X-Stainless-Arch": _ARCH_NAMES.get(machine, f"other:{machine}"),
        "X-Stainless-Runtime": platform.python_implementation(),
        "X-Stainless-Runtime-Version": platform.python_version(),
        "X-Stainless-Async": "false",
        "X-Stainless-Retry-Count": "0",
        "X-Stainless-Read-Timeout": f"{read_timeout:g}",
    }


def encode_body(body: Mapping[str, Any]) -> bytes:
    """JSON as the SDK writes it: compact, UTF-8 unescaped, model and stream first.

    ``chat.completions.create`` builds its body as ``model``, ``stream`` (when set), then
    ``messages`` and the remaining parameters in alphabetical order.
    """
    head = [key for key in ("model", "stream", "messages") if key in body]
    ordered = {key: body[key] for key in head}
    ordered.update({key: body[key] for key in sorted(body) if key not in ordered})
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_client(base_url: str) -> httpx.Client:
    """A client whose requests honour ``deadline()``; behind an HTTP proxy, httpx's own."""
    if proxy_for(base_url) is not None:
        # The deadline transport talks to hosts directly; with a proxy only httpx's per-read
        # timeouts and the check after each chunk bound a request.
        return httpx.Client(trust_env=True)
    return httpx.Client(transport=DeadlineTransport(), trust_env=False)


def proxy_for(url: str) -> str | None:
    """The HTTP proxy the environment sets for ``url``, or None to connect directly."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def perform(
    client: httpx.Client, ex: Exchange, *, until: float, cap: int, read_body: bool = True
) -> None:
    """Send ``ex``'s request and record the answer until it ends, ``until`` passes, or ``cap``.

    ``until`` is a time.monotonic() deadline for the whole exchange: connecting, sending,
    the headers and every byte of the body. An answer cut by the deadline or by ``cap`` keeps
    only its first bytes, as evidence, and says why in ``ex.cut``. With ``read_body`` False
    the exchange ends at the headers, and the connection is closed.
    """
    wait = max(until - time.monotonic(), 0.001)
    timeout = httpx.Timeout(wait, connect=min(wait, CONNECT_TIMEOUT))
    received = 0
    try:
        with (
            deadline(until),
            client.stream(
                ex.method,
                ex.url,
                content=ex.request_body or None,
                headers=ex.request_headers,
                timeout=timeout,
            ) as response,
        ):
            ex.status = response.status_code
            ex.headers = {k.lower(): v for k, v in response.headers.items()}
            ex.headers_at = time.perf_counter() - ex.started
            if not read_body:
                return
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > cap:
                    ex.cut_off(f"the answer passed {cap:,} bytes", received)
                    return
                ex.chunks.append((time.perf_counter() - ex.started, chunk))
                if time.monotonic() >= until:  # a client without the deadline transport
                    ex.cut_off(f"the answer did not finish within {wait:.3g} s", received)
                    return
    except httpx.TimeoutException as exc:
        if ex.status is None:
            ex.transport_error = f"{type(exc).__name__}: no answer within {wait:.3g} s"
        else:
            ex.cut_off(f"the answer did not finish within {wait:.3g} s", received)
    except httpx.HTTPError as exc:
        ex.transport_error = _describe(exc)
        ex.unreachable = ex.status is None and isinstance(exc, _NOT_CONNECTED)
    finally:
        ex.elapsed = time.perf_counter() - ex.started
        ex.received_bytes = max(ex.received_bytes, received)


def reach(base_url: str, limits: Limits) -> Exchange:
    """``GET /`` of a target, read up to its headers: does anything listen there at all?

    Bounded as every request is (deadline, budget), and closer still: at most REACH_TIMEOUT
    and the request timeout, and no byte of the body is read, so neither an endless stream nor
    a silence after the headers can hold the run here. ``unreachable`` on the result says
    whether no connection could be opened.

    Raises:
        BudgetExhausted: the budget ran out before the probe could start.
    """
    until, _ = limits.request_deadline(min(REACH_TIMEOUT, limits.request_timeout))
    headers = {"Accept": "*/*", "User-Agent": f"OpenAI/Python {SDK_VERSION}"}
    ex = Exchange("GET", base_url + "/", headers, b"", started=time.perf_counter())
    with new_client(base_url) as client:
        perform(client, ex, until=until, cap=0, read_body=False)
    return ex


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
