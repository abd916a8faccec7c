"""Parse ``sagemaker_openai/<endpoint>[/<inference-component>]`` and build the route URL.

Names are validated against SageMaker's own naming rule before any I/O, so nothing a caller
types can escape the path (``..``, ``/``, ``?``, spaces) or reach an unintended host.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ._credentials import validate_region
from ._exceptions import ConfigurationError

PROVIDER: Final = "sagemaker_openai"
# SageMaker's rule for EndpointName and InferenceComponentName (CreateEndpoint API reference).
NAME_RE: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NAME_MAX: Final = 63  # the pattern counts alphanumerics only; the API also caps the length
ROUTE_SUFFIX: Final = "openai/v1/chat/completions"
API_BASE_EXAMPLE: Final = "https://runtime.sagemaker.us-east-1.amazonaws.com"
API_BASE_ENV: Final = "SAGEMAKER_OPENAI_API_BASE"  # the process-wide default api_base
# A URL whose authority carries userinfo: scheme://<anything but / ? #>@
_USERINFO_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


@dataclass(frozen=True)
class ModelRef:
    """Which endpoint, and optionally which inference component, a call goes to."""

    endpoint: str
    inference_component: str | None = None

    @property
    def path(self) -> str:
        """The route path, from ``/endpoints`` on."""
        if self.inference_component:
            return (
                f"/endpoints/{self.endpoint}/inference-components/"
                f"{self.inference_component}/{ROUTE_SUFFIX}"
            )
        return f"/endpoints/{self.endpoint}/{ROUTE_SUFFIX}"

    def describe(self) -> str:
        """Human-readable target, for error messages."""
        if self.inference_component:
            return f"endpoint {self.endpoint!r}, inference component {self.inference_component!r}"
        return f"endpoint {self.endpoint!r}"


def _check_name(kind: str, name: str, model: str) -> str:
    if len(name) > NAME_MAX or not NAME_RE.fullmatch(name):
        raise ConfigurationError(
            f"invalid SageMaker {kind} name {name!r} in model {model!r}: names are 1-63 letters, "
            "digits and hyphens, starting and ending with a letter or digit; use "
            f"'{PROVIDER}/<endpoint>' or '{PROVIDER}/<endpoint>/<inference-component>'"
        )
    return name


def parse_model(model: str, model_id: str | None = None) -> ModelRef:
    """Parse a model string into a :class:`ModelRef`.

    Args:
        model: ``<endpoint>``, ``<endpoint>/<component>``, or either with the
            ``sagemaker_openai/`` prefix.
        model_id: inference component, as LiteLLM's sagemaker docs name it; an alias for
            the second part of ``model``.

    Raises:
        ConfigurationError: a name breaks SageMaker's naming rule, a part is empty, there
            are more than two parts, or ``model_id`` contradicts the model string.
    """
    rest = model[len(PROVIDER) + 1 :] if model.startswith(PROVIDER + "/") else model
    parts = rest.split("/")
    if len(parts) > 2:
        raise ConfigurationError(
            f"model {model!r} has {len(parts)} parts; expected '{PROVIDER}/<endpoint>' or "
            f"'{PROVIDER}/<endpoint>/<inference-component>'"
        )
    endpoint = _check_name("endpoint", parts[0], model)
    component = _check_name("inference component", parts[1], model) if len(parts) == 2 else None
    if model_id is not None:
        model_id = _check_name("inference component (model_id)", str(model_id), model)
        if component is not None and component != model_id:
            raise ConfigurationError(
                f"model {model!r} names inference component {component!r} but model_id="
                f"{model_id!r}; give the component once, in the model string or as model_id"
            )
        component = model_id
    return ModelRef(endpoint, component)


@functools.lru_cache(maxsize=1)
def _partitions() -> tuple[tuple[re.Pattern[str], str], ...]:
    # botocore's own partition table (aws, aws-cn, aws-us-gov, the ISO partitions, aws-eusc),
    # loaded once and lazily: it stays right as AWS adds partitions, with no list to maintain.
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("endpoints")
    return tuple((re.compile(p["regionRegex"]), p["dnsSuffix"]) for p in data["partitions"])


def dns_suffix(region: str) -> str:
    """The partition's DNS suffix, e.g. ``amazonaws.com.cn`` for China regions."""
    for pattern, suffix in _partitions():
        if pattern.match(region):
            return suffix
    return "amazonaws.com"  # botocore's fallback for regions no partition claims yet


def runtime_base(region: str) -> str:
    """``https://runtime.sagemaker.<region>.<suffix>`` for a validated region."""
    validate_region(region)
    return f"https://runtime.sagemaker.{region}.{dns_suffix(region)}"


def build_url(ref: ModelRef, region: str, api_base: str | None = None) -> str:
    """The full chat-completions URL; ``api_base`` replaces the host (VPC, FIPS or tests).

    ``api_base`` may be a bare origin (``https://vpce-...``) or may carry a path prefix; the
    route path is appended to it. Without one, ``SAGEMAKER_OPENAI_API_BASE`` is the default;
    either is checked first (:func:`check_api_base`).
    """
    if api_base:
        return check_api_base(api_base).rstrip("/") + ref.path
    from_env = os.environ.get(API_BASE_ENV)
    if from_env:
        return check_api_base(from_env, API_BASE_ENV).rstrip("/") + ref.path
    return runtime_base(region) + ref.path


def _shown(api_base: str) -> str:
    # Error messages echo the URL to help, but never a password in it.
    return repr(_USERINFO_RE.sub(r"\1***@", api_base))


def _bad_base(api_base: str, problem: str, setting: str) -> ConfigurationError:
    name = f"{setting} (the default api_base)" if setting == API_BASE_ENV else setting
    fix = f"set {setting} to" if setting == API_BASE_ENV else "pass"
    return ConfigurationError(
        f"{name} {_shown(api_base)} {problem}; {fix} an http(s) URL like "
        f"'{API_BASE_EXAMPLE}' (no credentials, query or fragment)"
    )


def check_api_base(api_base: object, setting: str = "api_base") -> str:
    """Return ``api_base`` if it is a URL the route can be called at, else raise ConfigurationError.

    Refused: non-strings; whitespace or control characters anywhere (``urlsplit`` silently
    drops tabs and newlines, and httpx would send the rest); ``user:password@`` (httpx would turn
    it into Basic auth in place of the bearer token); anything ``urlsplit`` cannot parse; a
    missing or non-ASCII host; a port outside 1-65535; a query or fragment, even an empty one
    (the route path is appended, so ``http://h?`` would send ``POST /?/endpoints/...``).
    ``setting`` names where the value came from in the message.
    """
    if not isinstance(api_base, str):
        raise ConfigurationError(
            f"{setting} must be a string URL like '{API_BASE_EXAMPLE}', got "
            f"{type(api_base).__name__}"
        )
    problem = _api_base_problem(api_base)
    if problem is not None:
        raise _bad_base(api_base, problem, setting)
    return api_base


def _api_base_problem(api_base: str) -> str | None:
    """What is wrong with ``api_base``, or None; see :func:`check_api_base`."""
    for index, char in enumerate(api_base):
        if char.isspace() or not char.isprintable():
            return f"contains the whitespace or control character {char!r} at {index}"
    if _USERINFO_RE.search(api_base):
        return (
            "carries user:password@ credentials, which would replace the SageMaker bearer token "
            "(the plugin authenticates with that token only); remove them"
        )
    bad_port = "has an invalid port: ports are 1-65535"
    try:
        parts = urlsplit(api_base)
        port = parts.port
    except ValueError as exc:
        return bad_port if "port" in str(exc).lower() else f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not an http(s) URL"
    # Not parts.query/parts.fragment: an empty '?' or '#' parses as none, yet is still there.
    if "?" in api_base or "#" in api_base:
        return "has a query or fragment ('?' or '#', even with nothing after it)"
    host = parts.hostname
    if not host:
        return "has no host"
    if port == 0:
        return bad_port
    if not host.isascii():
        try:
            hint = f"write the host in its IDNA form, {host.encode('idna').decode('ascii')!r}"
        except UnicodeError:
            hint = "use an ASCII host name"
        return f"has a non-ASCII host: {hint}"
    return None
