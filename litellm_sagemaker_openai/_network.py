"""Whom the plugin's connections trust, and which proxy they go through, resolved per call.

Certificates are always verified unless a setting turns it off. The CA bundle is the first of
(docs/provider/networks.md, "Which CA bundle"):

1. the deployment's (or the call's) ``ssl_verify``: ``False``, or a CA bundle path;
2. LiteLLM's global: ``SSL_VERIFY`` in the environment, else ``litellm.ssl_verify``, when it
   is ``False`` or a path (LiteLLM reads them in that order too);
3. ``AWS_CA_BUNDLE``, then the AWS profile's ``ca_bundle`` (as every AWS SDK reads them);
4. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (Python's and OpenSSL's);
5. certifi's bundle (httpx's default).

Settings a person wrote for LiteLLM come before the environment shared by every AWS tool, and
the AWS-specific before the generic. Proxies come from ``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY`` and ``NO_PROXY`` (httpx reads them, upper or lower case); a proxy reached over
``https://`` is verified against the profile's ``proxy_ca_bundle`` when it has one.

A :class:`Network` is what a pooled client is made for (``_clients.py`` keys its pools by it),
so a deployment with its own CA bundle, or a changed ``HTTPS_PROXY``, gets its own pool.
litellm-free: LiteLLM's global setting is handed in.
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from ._errors import SageMakerCertificateError, build_error
from ._exceptions import ConfigurationError
from ._redact import redact, register_secret

PROXY_ENV: Final = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
_WORDS: Final = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
DOCS: Final = "docs/provider/networks.md"


@dataclass(frozen=True)
class Network:
    """One call's TLS trust and proxy settings; hashable, it keys the connection pools."""

    verify: bool = True
    cafile: str | None = None  # a PEM bundle; None: certifi's (or ``capath``)
    capath: str | None = None  # a directory of hashed certificates (SSL_CERT_DIR)
    source: str = "certifi's bundle"  # the setting that chose the CA bundle, for messages
    proxy_cafile: str | None = None  # the profile's proxy_ca_bundle
    context: ssl.SSLContext | None = None  # an ``ssl_verify`` given as a ready SSLContext
    # The proxy variables as the pool saw them: part of the key, never shown (user:pass@).
    proxy_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        """The context connections to the route are verified with (cached per bundle)."""
        if self.context is not None:
            return self.context
        return _context(self.verify, self.cafile, self.capath)

    def client_options(self, limits: httpx.Limits, *, asynchronous: bool) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client``/``AsyncClient``: trust, proxies, limits."""
        options: dict[str, Any] = {
            "verify": self.ssl_context(),
            "trust_env": True,
            "limits": limits,
            "follow_redirects": False,
        }
        if self.proxy_cafile is not None:
            options["mounts"] = _https_proxy_mounts(self, limits, asynchronous)
        return options


def parse_ssl_verify(value: Any, name: str = "ssl_verify") -> bool | str | ssl.SSLContext:
    """``ssl_verify`` as LiteLLM takes it: a bool (or its word), a CA bundle's path, or an
    ``ssl.SSLContext`` (used as it is)."""
    if isinstance(value, bool | ssl.SSLContext):
        return value
    if isinstance(value, str):
        word = _WORDS.get(value.strip().lower())
        if word is not None:
            return word
        path = os.path.expanduser(value)
        if os.path.isfile(path) or os.path.isdir(path):
            return path
        raise ConfigurationError(
            f"{name}: no CA bundle at {value!r}; give the path of a PEM file of the CA "
            "certificates to trust, or false to turn verification off"
        )
    raise ConfigurationError(
        f"{name} must be true, false or the path of a CA bundle, got {type(value).__name__}"
    )


_PROXY_NAMES: Final = tuple(name for base in PROXY_ENV for name in (base, base.lower()))
_READ: Final = (*_PROXY_NAMES, "SSL_VERIFY", "AWS_PROFILE", "AWS_CA_BUNDLE", "SSL_CERT_FILE",
                "SSL_CERT_DIR", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")  # fmt: skip


def _environment() -> dict[str, str]:
    """The variables this module reads, set ones only: read on every call, so kept cheap.

    ``os.environ.get`` raises and catches a KeyError for each unset name, 15 of them here
    (~60 us a call on a busy 2-core machine); the mapping behind it answers in ~3 us.
    """
    data = getattr(os.environ, "_data", None)
    if os.name != "posix" or not isinstance(data, dict):
        return {name: value for name in _READ if (value := os.environ.get(name))}
    found = ((name, data.get(key)) for name, key in _ENCODED)
    return {name: os.fsdecode(value) for name, value in found if value}


_ENCODED: Final = tuple((name, os.fsencode(name)) for name in _READ)


def resolve_network(
    deployment: bool | str | ssl.SSLContext | None, litellm_global: Any, profile: str | None
) -> Network:
    """The :class:`Network` for one call (see the module doc for the order)."""
    env = _environment()
    return _resolve(
        deployment,
        env.get("SSL_VERIFY") or litellm_global,
        profile or env.get("AWS_PROFILE"),
        env.get("AWS_CA_BUNDLE"),
        env.get("SSL_CERT_FILE"),
        env.get("SSL_CERT_DIR"),
        tuple((name, env[name]) for name in _PROXY_NAMES if name in env),
        (
            env.get("AWS_CONFIG_FILE", "~/.aws/config"),
            env.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        ),
    )


@functools.lru_cache(maxsize=64)
def _resolve(
    deployment: bool | str | ssl.SSLContext | None,
    litellm_global: Any,
    profile: str | None,
    aws_ca_bundle: str | None,
    cert_file: str | None,
    cert_dir: str | None,
    proxies: tuple[tuple[str, str], ...],
    files: tuple[str, str],
) -> Network:
    _register_proxy_credentials(proxies)
    settings = profile_settings(profile, files)
    common: dict[str, Any] = {
        "proxy_cafile": settings.get("proxy_ca_bundle"),
        "proxy_env": proxies,
    }
    given: list[tuple[Any, str]] = [(deployment, "the deployment's ssl_verify")]
    if deployment is None:  # an explicit True asks for verification: the global may not undo it
        global_value = parse_ssl_verify(litellm_global, "litellm.ssl_verify / SSL_VERIFY")
        given.append((global_value, "litellm.ssl_verify / SSL_VERIFY"))
    for value, source in given:
        if value is False:
            return Network(verify=False, source=source, **common)
        if isinstance(value, ssl.SSLContext):
            return Network(context=value, source=f"{source} (an SSLContext)", **common)
        if isinstance(value, str):
            return _bundle(value, source, common)
    for value, source in (
        (aws_ca_bundle, "AWS_CA_BUNDLE"),
        (settings.get("ca_bundle"), f"the AWS profile's ca_bundle ({profile or 'default'})"),
        (cert_file, "SSL_CERT_FILE"),
    ):
        if value:
            return _bundle(os.path.expanduser(value), source, common)
    if cert_dir:
        return Network(capath=cert_dir, source="SSL_CERT_DIR", **common)
    return Network(**common)


def _register_proxy_credentials(proxies: tuple[tuple[str, str], ...]) -> None:
    """``user:pass@`` of a proxy URL: masked wherever a log line or message would show it."""
    for _, value in proxies:
        if "@" not in value:
            continue
        url = httpx.URL(value if "://" in value else f"http://{value}")
        user, password = url.username, url.password
        if password:
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            register_secret(password, f"{user}:{password}", basic)


def _bundle(path: str, source: str, common: Mapping[str, Any]) -> Network:
    if os.path.isdir(path):
        return Network(capath=path, source=f"{source} ({path})", **common)
    return Network(cafile=path, source=f"{source} ({path})", **common)


@functools.lru_cache(maxsize=16)
def _context(verify: bool, cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load the CA bundle {cafile or capath}: {exc}; give a PEM file of CA "
            f"certificates (see {DOCS})"
        ) from None


def _https_proxy_mounts(
    network: Network, limits: httpx.Limits, asynchronous: bool
) -> dict[str, Any]:
    """Proxy mounts with the profile's ``proxy_ca_bundle`` for ``https://`` proxies.

    httpx verifies an ``https://`` proxy with the client's own context; botocore with
    ``proxy_ca_bundle``, which is what this honours. Plain ``http://`` proxies and NO_PROXY
    stay as httpx builds them from the environment.
    """
    assert network.proxy_cafile is not None
    context = _context(True, os.path.expanduser(network.proxy_cafile), None)
    env = {name.upper(): value for name, value in reversed(network.proxy_env)}
    transport: Any = httpx.AsyncHTTPTransport if asynchronous else httpx.HTTPTransport
    mounts: dict[str, Any] = {}
    for scheme in ("https", "http"):
        url = env.get(f"{scheme.upper()}_PROXY") or env.get("ALL_PROXY")
        if url and url.startswith("https://"):
            proxy = httpx.Proxy(url, ssl_context=context)
            mounts[f"{scheme}://"] = transport(
                verify=network.ssl_context(), proxy=proxy, limits=limits
            )
    return mounts


def profile_settings(profile: str | None, files: tuple[str, str]) -> Mapping[str, str]:
    """The AWS profile's ``ca_bundle`` and ``proxy_ca_bundle``, when its files exist."""
    if not any(os.path.isfile(os.path.expanduser(path)) for path in files):
        return {}  # no profile files: botocore (100-200 ms to import) is not needed
    return _scoped(profile, files)


@functools.lru_cache(maxsize=16)
def _scoped(profile: str | None, files: tuple[str, str]) -> Mapping[str, str]:
    import botocore.session

    try:
        scoped = botocore.session.Session(profile=profile).get_scoped_config()
    except Exception:  # a missing profile is reported by credential loading, not here
        return {}
    return {key: str(scoped[key]) for key in ("ca_bundle", "proxy_ca_bundle") if scoped.get(key)}


def certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error behind a transport failure, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def certificate_error(
    failure: ssl.SSLCertVerificationError,
    *,
    model: str,
    url: str,
    trusted: str,
    proxied: bool = False,
) -> Exception:
    """Say which host failed, against which CA bundle, and how to pass the right one."""
    host = httpx.URL(url).host
    reason = redact(failure.verify_message or failure.reason or str(failure))
    via = (
        " (or that of the https:// proxy in HTTPS_PROXY, whose CA goes in the AWS profile's "
        "proxy_ca_bundle)"
        if proxied
        else ""
    )
    message = (
        f"the TLS certificate of {host}{via} did not verify ({reason}) against {trusted}; if a "
        "proxy or a private CA signs it, pass that CA's PEM bundle: ssl_verify: /path/ca.pem in "
        "the deployment's litellm_params, or AWS_CA_BUNDLE=/path/ca.pem "
        "(see docs/provider/networks.md)"
    )
    return build_error(SageMakerCertificateError, message, model=model, status=400)
