"""Hints for the mistakes newcomers make most, added to the error they would otherwise get.

A local ``api_base`` (the route emulator, ``SAGEMAKER_OPENAI_API_BASE=http://127.0.0.1:8080``)
with nothing listening there gives a bare "Connection refused": say what is expected there and
how to get it, or how to call AWS instead.

litellm-free.
"""

from __future__ import annotations

import ipaddress
from typing import Final

import httpx

from ._routing import API_BASE_ENV

EMULATOR: Final = "sagemaker-openai-emulator --port {port} --reference"


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refused_hint(exc: Exception, url: str, *, from_env: bool) -> str | None:
    """How to fix a connection refused by a loopback ``api_base``, or None for anything else.

    ``from_env`` says the base came from ``SAGEMAKER_OPENAI_API_BASE`` rather than ``api_base``.
    """
    if not isinstance(exc, httpx.ConnectError):
        return None
    target = httpx.URL(url)
    if not _loopback(target.host):
        return None
    port = target.port or (443 if target.scheme == "https" else 80)
    setting = API_BASE_ENV if from_env else "api_base"
    undo = f"unset {API_BASE_ENV}" if from_env else "remove api_base"
    return (
        f"nothing is listening at {target.scheme}://{target.netloc.decode('ascii')}, where "
        f"{setting} points: start the route emulator there ({EMULATOR.format(port=port)}) or "
        f"your own local server, or {undo} to call SageMaker in AWS"
    )


PROXY_HINT: Final = (
    "the proxy named by HTTPS_PROXY (HTTP_PROXY, ALL_PROXY) refused or could not open the "
    "tunnel: check its address, user and password, or list the host in NO_PROXY to go direct "
    "(see docs/provider/networks.md)"
)


def with_hint(exc: Exception, url: str, *, from_env: bool) -> Exception:
    """``exc``, or an httpx error of the same class whose message ends with the hint."""
    if isinstance(exc, httpx.ProxyError):
        proxied = httpx.ProxyError(f"{exc}; {PROXY_HINT}", request=exc.request)
        proxied.__cause__ = exc.__cause__
        return proxied
    hint = refused_hint(exc, url, from_env=from_env)
    if hint is None or not isinstance(exc, httpx.ConnectError):
        return exc
    hinted = httpx.ConnectError(f"{exc}; {hint}", request=exc.request)
    hinted.__cause__ = exc.__cause__
    return hinted
