"""Where the kit sends requests: a container directly, the local emulator, or a live endpoint."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal
from urllib.parse import urlsplit

# The provider's public, LiteLLM-free rules: the kit, the emulator and the plugin refuse the
# same names and regions, and mint the same tokens.
from litellm_sagemaker_openai import (
    StaticKeys,
    generate_token,
    runtime_base,
    validate_name,
    validate_region,
)

Mode = Literal["direct", "mock", "live"]
CONTAINER_CHAT_PATH: Final = "/v1/chat/completions"
TOKEN_LIFETIME: Final = timedelta(minutes=15)  # the kit's runs are short; limits exposure

FaultFactory = Callable[[frozenset[str]], AbstractContextManager["Target"]]
_HOSTNAME: Final = re.compile(r"^[A-Za-z0-9._~-]+$")


def validate_base_url(url: str, what: str = "target URL") -> str:
    """Return ``url`` without a trailing slash if it is an absolute http(s) base URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:
        problem = str(exc)
    else:
        # urlsplit drops an empty query or fragment: "http://h/?" would pass, and the kit
        # would post to "/?/v1/chat/completions", that is to "/".
        problem = _url_problem(parts.scheme, parts.hostname, "?" in url or "#" in url)
        if "@" in parts.netloc:
            # A password in the URL would be written into every report's target and evidence,
            # and into this very message: show the URL without it.
            url = url.replace(parts.netloc, "<user info removed>@" + parts.netloc.rsplit("@")[-1])
            problem = problem or (
                "a base URL carries no user name or password (reports would show them): "
                "remove the 'user:password@' part"
            )
    if problem:
        raise ValueError(
            f"invalid {what} {url!r}: {problem}; give a base URL such as http://127.0.0.1:8080"
        )
    return url.rstrip("/")


def _url_problem(scheme: str, host: str | None, query_or_fragment: bool) -> str:
    if scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not host:
        return "it has no host"
    if not host.isascii():
        return "the host is not ASCII (write an international name in its xn-- form)"
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "the IPv6 address is malformed"
    elif not _HOSTNAME.fullmatch(host):
        return "the host has characters a host name cannot have"
    if query_or_fragment:
        return "a base URL has no query or fragment: remove the '?' or '#' and what follows"
    return ""


def route_path(endpoint: str, inference_component: str | None = None) -> str:
    """The SageMaker OpenAI route's chat path for an endpoint (and inference component)."""
    base = f"/endpoints/{endpoint}"
    if inference_component:
        base += f"/inference-components/{inference_component}"
    return base + "/openai/v1/chat/completions"


@dataclass(frozen=True)
class Target:
    """A mode plus the URLs and auth the kit needs. Build one with the classmethods."""

    mode: Mode
    base_url: str
    chat_path: str = CONTAINER_CHAT_PATH
    label: str = ""
    endpoint: str | None = None
    inference_component: str | None = None
    region: str | None = None
    token_factory: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    # Only the built-in reference target has this: it starts a copy of the reference
    # container with extra fault switches (used by errors.mid_stream).
    fault_factory: FaultFactory | None = field(default=None, repr=False, compare=False)
    # Mock mode: the container's own base URL, behind the emulator. The container contract
    # (/ping, /invocations) is checked there directly, since the route never forwards it.
    container: str | None = None

    @classmethod
    def direct(cls, url: str, *, label: str | None = None) -> Target:
        """A container reached directly: ``/v1/chat/completions``, ``/ping``, ``/invocations``."""
        base = validate_base_url(url)
        return cls("direct", base, label=label or base)

    @classmethod
    def mock(
        cls,
        emulator_url: str,
        *,
        endpoint: str,
        region: str,
        access_key: str,
        secret_key: str,
        inference_component: str | None = None,
        label: str | None = None,
        fault_factory: FaultFactory | None = None,
        container: str | None = None,
    ) -> Target:
        """A container behind the local emulator, with tokens minted from test credentials.

        ``container`` is the container's own base URL, where the kit checks ``/ping`` and
        ``/invocations`` directly (the route forwards neither).
        """
        keys = StaticKeys(access_key, secret_key)
        base = emulator_url.rstrip("/")
        return cls(
            "mock",
            base,
            route_path(endpoint, inference_component),
            label=label or f"{base} (emulator, endpoint {endpoint})",
            endpoint=endpoint,
            inference_component=inference_component,
            region=region,
            token_factory=lambda: generate_token(region, keys, TOKEN_LIFETIME),
            fault_factory=fault_factory,
            container=None if container is None else validate_base_url(container),
        )

    @classmethod
    def live(
        cls,
        endpoint: str,
        region: str,
        *,
        inference_component: str | None = None,
        base_url: str | None = None,
        token_factory: Callable[[], str] | None = None,
    ) -> Target:
        """A real endpoint; tokens come from the default AWS credential chain.

        Raises:
            ValueError: an invalid endpoint, inference component or region name, or base URL;
                checked before anything is sent.
        """
        validate_name(endpoint)
        if inference_component is not None:
            validate_name(inference_component, "inference component")
        validate_region(region)
        if base_url is not None:
            base_url = validate_base_url(base_url, "runtime URL")

        def default_token() -> str:
            return generate_token(region=region, expiry=TOKEN_LIFETIME)

        where = f"endpoint {endpoint}" + (
            f", component {inference_component}" if inference_component else ""
        )
        return cls(
            "live",
            (base_url or runtime_base(region)).rstrip("/"),
            route_path(endpoint, inference_component),
            label=f"{where} in {region}",
            endpoint=endpoint,
            inference_component=inference_component,
            region=region,
            token_factory=token_factory or default_token,
        )

    def url(self, path: str | None = None) -> str:
        """Absolute URL of ``path`` (default: the chat route)."""
        return self.base_url + (path or self.chat_path)

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` an OpenAI SDK client would use for this target."""
        return self.url().removesuffix("/chat/completions")
