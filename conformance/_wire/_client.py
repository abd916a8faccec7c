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

SDK_VERSION: Final = "2.54.0"  # the openai-python release the SDK replica was checked against
CONNECT_TIMEOUT: Final = 5.0
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
    host = urlsplit(base_url).hostname or ""
    if _uses_proxy(host):
        # The deadline transport talks to hosts directly; with a proxy only httpx's per-read
        # timeouts and the check after each chunk bound a request.
        return httpx.Client(trust_env=True)
    return httpx.Client(transport=DeadlineTransport(), trust_env=False)


def _uses_proxy(host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool({"http", "https", "all"} & proxies.keys()) and not urllib.request.proxy_bypass(host)


def perform(client: httpx.Client, ex: Exchange, *, until: float, cap: int) -> None:
    """Send ``ex``'s request and record the answer until it ends, ``until`` passes, or ``cap``.

    ``until`` is a time.monotonic() deadline for the whole exchange: connecting, sending,
    the headers and every byte of the body. An answer cut by the deadline or by ``cap`` keeps
    only its first bytes, as evidence, and says why in ``ex.cut``.
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
    finally:
        ex.elapsed = time.perf_counter() - ex.started
        ex.received_bytes = max(ex.received_bytes, received)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
