"""Where the kit sends requests: a container directly, the local emulator, or a live endpoint."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal

Mode = Literal["direct", "mock", "live"]
CONTAINER_CHAT_PATH: Final = "/v1/chat/completions"
TOKEN_SECONDS: Final = 900  # the kit's runs are short; a 15-minute token limits exposure

FaultFactory = Callable[[frozenset[str]], AbstractContextManager["Target"]]


def route_path(endpoint: str, inference_component: str | None = None) -> str:
    """The SageMaker OpenAI route's chat path for an endpoint (and inference component)."""
    base = f"/endpoints/{endpoint}"
    if inference_component:
        base += f"/inference-components/{inference_component}"
    return base + "/openai/v1/chat/completions"


def runtime_url(region: str) -> str:
    """The SageMaker runtime base URL of a region (China regions use the .com.cn domain)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://runtime.sagemaker.{region}.{suffix}"


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

    @classmethod
    def direct(cls, url: str, *, label: str | None = None) -> Target:
        """A container reached directly: ``/v1/chat/completions``, ``/ping``, ``/invocations``."""
        base = url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"target URL {url!r} must start with http:// or https://")
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
    ) -> Target:
        """A container behind the local emulator, with tokens minted from test credentials."""
        from botocore.credentials import ReadOnlyCredentials

        from litellm_sagemaker_openai._token import mint_token

        creds = ReadOnlyCredentials(access_key, secret_key, None)
        base = emulator_url.rstrip("/")
        return cls(
            "mock",
            base,
            route_path(endpoint, inference_component),
            label=label or f"{base} (emulator, endpoint {endpoint})",
            endpoint=endpoint,
            inference_component=inference_component,
            region=region,
            token_factory=lambda: mint_token(creds, region, TOKEN_SECONDS),
            fault_factory=fault_factory,
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
        """A real endpoint; tokens come from the default AWS credential chain."""
        from litellm_sagemaker_openai._credentials import validate_region

        validate_region(region)

        def default_token() -> str:
            from litellm_sagemaker_openai._token import generate_token

            return generate_token(region=region, expiry=timedelta(seconds=TOKEN_SECONDS))

        where = f"endpoint {endpoint}" + (
            f", component {inference_component}" if inference_component else ""
        )
        return cls(
            "live",
            (base_url or runtime_url(region)).rstrip("/"),
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
