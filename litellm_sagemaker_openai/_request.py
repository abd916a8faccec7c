"""Build one route call from what LiteLLM hands a CustomLLM: URL, body, headers, auth.

Everything here is pure and runs before any I/O, so every configuration error surfaces
before a socket opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import litellm

from ._credentials import CredentialSpec, resolve_region
from ._network import Network, resolve_network
from ._options import NAMES, Options
from ._redact import register_secret
from ._routing import PROVIDER, ModelRef, build_url, parse_model
from ._validate import encode_body

# Keys of optional_params that are not OpenAI parameters, so never reach the container: the
# plugin's options (aws_* ones are secrets), and what LiteLLM itself puts there (aws_* because
# the provider name starts with "sagemaker"; max_retries from the Router).
LITELLM_KEYS: Final = frozenset(
    {
        "api_version",
        "custom_llm_provider",
        "extra_body",
        "extra_headers",
        "hf_model_name",
        "max_retries",
        "num_retries",
        "region_name",
        "sagemaker_base_url",
        "stream",
    }
)
INTERNAL_KEYS: Final = NAMES | LITELLM_KEYS
INTERNAL_PREFIXES: Final = ("aws_", "litellm_", "mock_")


@dataclass(frozen=True)
class Call:
    """Everything needed to send one request; the token is looked up at send time."""

    ref: ModelRef
    region: str
    url: str
    body: dict[str, Any] = field(repr=False)
    content: bytes = field(repr=False)  # ``body`` encoded once, as sent
    headers: dict[str, str]
    timeout: httpx.Timeout
    stream: bool
    spec: CredentialSpec | None = None  # None when the caller passed a pre-minted token
    static_token: str | None = field(default=None, repr=False)
    name: str = ""  # the model as LiteLLM passed it (no provider prefix): what it is priced as
    options: Options = field(default_factory=Options.defaults, repr=False, compare=False)
    network: Network = field(default_factory=Network, compare=False)  # CA bundle and proxies

    @property
    def model(self) -> str:
        """The model string as LiteLLM users wrote it, for exception messages."""
        tail = f"/{self.ref.inference_component}" if self.ref.inference_component else ""
        return f"{PROVIDER}/{self.ref.endpoint}{tail}"


def build_body(
    messages: list[Any], optional_params: dict[str, Any], *, stream: bool, container_model: str
) -> dict[str, Any]:
    """The JSON body for the container: OpenAI params as given, LiteLLM internals removed."""
    body: dict[str, Any] = {"model": container_model, "messages": messages}
    for key, value in optional_params.items():
        if key in INTERNAL_KEYS or key.startswith(INTERNAL_PREFIXES):
            continue
        body[key] = value
    extra = optional_params.get("extra_body")
    if isinstance(extra, dict):
        body.update({k: v for k, v in extra.items() if not k.startswith(INTERNAL_PREFIXES)})
    if stream:
        body["stream"] = True
        # Always ask for usage: without it LiteLLM re-counts tokens locally and the cost is
        # wrong. LiteLLM hides the usage chunk from callers who did not ask for it.
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    else:
        body.pop("stream_options", None)
    return body


def prepare(
    model: str,
    messages: list[Any],
    options: Options,
    optional_params: dict[str, Any],
    *,
    stream: bool,
) -> Call:
    """Validate and assemble a :class:`Call`. Raises ConfigurationError before any I/O.

    ``options`` were parsed from the call's arguments (:meth:`Options.from_litellm`); the
    body's OpenAI parameters come from ``optional_params``, where LiteLLM puts them.
    """
    ref = parse_model(model, options.model_id)
    spec = options.credentials
    region = resolve_region(options.aws_region_name, spec.aws_profile_name)
    static_token = options.api_key
    register_secret(static_token)
    url = build_url(ref, region, options.api_base)
    body = build_body(
        messages, optional_params, stream=stream, container_model=options.container_model
    )
    headers = dict(options.headers)
    headers["Accept"] = "text/event-stream" if stream else "application/json"
    headers["Content-Type"] = "application/json"
    return Call(
        ref=ref,
        region=region,
        url=url,
        body=body,
        content=encode_body(body, optional_params.get("extra_body")),
        headers=headers,
        timeout=options.timeout,
        stream=stream,
        spec=None if static_token else spec,
        static_token=static_token,
        name=model.removeprefix(PROVIDER + "/"),
        options=options,
        network=resolve_network(options.ssl_verify, litellm.ssl_verify, spec.aws_profile_name),
    )
