"""Resolve the AWS region and credentials from LiteLLM's ``aws_*`` vocabulary, with botocore only.

The vocabulary matches LiteLLM's built-in sagemaker providers: keys, session token, profile,
role and session name (STS AssumeRole), web identity token, STS endpoint and external id.
Unlike LiteLLM's ``BaseAWSLLM``, nothing here defaults the region: a missing region is an
error that says how to set one. This module must not import litellm.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

from ._exceptions import ConfigurationError, CredentialsError
from ._redact import install_library_filter, redact, register_secret

# botocore is imported inside the functions that need it: it costs 100-200 ms to import, LiteLLM
# does not load it, and keys given as parameters never need it (see StaticKeys).
# Whoever loads credentials through here (the plugin, generate_token, the conformance kit) gets
# botocore's DEBUG records of STS exchanges masked.
install_library_filter()

REGION_ENV_VARS: Final = ("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")
# Every AWS region id is lowercase ASCII words and a number: us-east-1, us-gov-west-1,
# cn-north-1, us-iso-east-1, eusc-de-east-1. Anything else would end up in a URL host, so it is
# refused up front ([0-9], not \d, which also matches non-ASCII digits).
_REGION_RE: Final = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")
_ENV_REF: Final = "os.environ/"


class FrozenCredentials(Protocol):
    """One coherent (key, secret, token) snapshot, like botocore's ``ReadOnlyCredentials``."""

    @property
    def access_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def token(self) -> str | None: ...


class CredentialSource(Protocol):
    """Anything botocore-like that can give a coherent snapshot (refreshable ones renew)."""

    def get_frozen_credentials(self) -> FrozenCredentials: ...


class StaticKeys(NamedTuple):
    """Keys given as parameters: their own snapshot, held and signed with no botocore import."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"StaticKeys(access_key={self.access_key!r})"

    def get_frozen_credentials(self) -> StaticKeys:
        return self


@dataclass(frozen=True)
class CredentialSpec:
    """The ``aws_*`` parameters of one call. Secrets are kept out of ``repr``."""

    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    aws_profile_name: str | None = None
    aws_role_name: str | None = None
    aws_session_name: str | None = None
    aws_web_identity_token: str | None = field(default=None, repr=False)
    aws_sts_endpoint: str | None = None
    aws_external_id: str | None = field(default=None, repr=False)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest identifying these credentials in caches without holding secrets in keys."""
        raw = "\x1f".join(f"{f.name}={getattr(self, f.name) or ''}" for f in fields(self))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# The aws_* options that make up a CredentialSpec (``_options.Options`` reads them).
CREDENTIAL_OPTIONS: Final = tuple(f.name for f in fields(CredentialSpec))


def credential_spec(values: Mapping[str, Any]) -> CredentialSpec:
    """The spec for the ``aws_*`` values in ``values`` (absent, None or empty: not given)."""
    given = ((name, values.get(name)) for name in CREDENTIAL_OPTIONS)
    return _spec_for(tuple((name, str(value)) for name, value in given if value))


@functools.lru_cache(maxsize=256)
def _spec_for(values: tuple[tuple[str, str], ...]) -> CredentialSpec:
    # The same deployment sends the same aws_* on every call: reuse one spec (and its cached
    # fingerprint) instead of hashing the secrets again per request. A new spec's secrets are
    # registered for log and error redaction once, here.
    spec = CredentialSpec(**dict(values))
    register_secret(spec.aws_secret_access_key, spec.aws_session_token, spec.aws_web_identity_token)
    return spec


def validate_region(region: str) -> str:
    """Return ``region`` if it is shaped like an AWS region id, else raise ConfigurationError."""
    if not _REGION_RE.fullmatch(region):
        raise ConfigurationError(
            f"invalid AWS region {region!r}; expected an id like 'us-east-1' "
            "(set aws_region_name= or AWS_REGION_NAME)"
        )
    return region


@functools.lru_cache(maxsize=64)
def _profile_region(profile: str | None) -> str | None:
    # Building a botocore Session reads the config files: cache it, it is not free.
    import botocore.session

    try:
        session = botocore.session.Session(profile=profile)
        region = session.get_scoped_config().get("region")
    except Exception:  # a missing profile is reported by credential loading, not here
        return None
    return str(region) if region else None


def resolve_region(explicit: str | None = None, profile: str | None = None) -> str:
    """Resolve the region: explicit, then ``AWS_REGION_NAME``, ``AWS_REGION``,
    ``AWS_DEFAULT_REGION``, then the profile's configured region. Never a silent default.
    """
    region = explicit or next((os.environ[v] for v in REGION_ENV_VARS if os.environ.get(v)), None)
    region = region or _profile_region(profile or os.environ.get("AWS_PROFILE"))
    if not region:
        raise ConfigurationError(
            "no AWS region found for sagemaker_openai; pass aws_region_name='us-east-1' "
            "(or set it in the proxy's litellm_params), or set AWS_REGION_NAME, AWS_REGION "
            "or AWS_DEFAULT_REGION, or a region in your AWS profile"
        )
    return validate_region(region)


def _deref(value: str) -> str:
    # LiteLLM configs write secrets as "os.environ/NAME"; resolve those the same way.
    if value.startswith(_ENV_REF):
        name = value[len(_ENV_REF) :]
        resolved = os.environ.get(name)
        if not resolved:
            raise CredentialsError(f"environment variable {name} referenced by the config is unset")
        return resolved
    return value


def load_default_credentials(profile: str | None = None) -> CredentialSource | None:
    """botocore's default chain (env, shared files, SSO, container, instance profile)."""
    import botocore.session

    credentials: CredentialSource | None = botocore.session.Session(
        profile=profile
    ).get_credentials()
    return credentials


def _base_credentials(spec: CredentialSpec) -> CredentialSource:
    if spec.aws_access_key_id or spec.aws_secret_access_key:
        if not (spec.aws_access_key_id and spec.aws_secret_access_key):
            raise ConfigurationError(
                "aws_access_key_id and aws_secret_access_key must be given together"
            )
        token = _deref(spec.aws_session_token) if spec.aws_session_token else None
        return StaticKeys(_deref(spec.aws_access_key_id), _deref(spec.aws_secret_access_key), token)
    try:
        creds = load_default_credentials(spec.aws_profile_name)
    except Exception as exc:  # botocore raises ProfileNotFound and friends
        raise _load_failure(exc) from None
    if creds is None:
        raise CredentialsError(
            "no AWS credentials found for sagemaker_openai; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or pass aws_access_key_id/"
            "aws_secret_access_key, aws_profile_name or aws_role_name"
        )
    return creds


def _role_arn(role: str) -> str:
    if role.startswith("arn:"):
        return role
    raise ConfigurationError(
        f"aws_role_name must be a role ARN like 'arn:aws:iam::123456789012:role/NAME', got {role!r}"
    )


def _client_creator(spec: CredentialSpec, region: str) -> Any:
    import botocore.session

    session = botocore.session.Session()

    def create(service: str, **kwargs: Any) -> Any:
        if spec.aws_sts_endpoint:
            kwargs.setdefault("endpoint_url", spec.aws_sts_endpoint)
        kwargs.setdefault("region_name", region)
        return session.create_client(service, **kwargs)

    return create


def load_credentials(spec: CredentialSpec, region: str) -> CredentialSource:
    """Build credentials for ``spec``; refreshable (role) ones renew themselves.

    May do network I/O (STS) for roles, so async callers must run it off the event loop.
    """
    if not spec.aws_role_name:
        return _base_credentials(spec)
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        AssumeRoleWithWebIdentityCredentialFetcher,
        DeferredRefreshableCredentials,
    )

    role_arn = _role_arn(spec.aws_role_name)
    extra: dict[str, Any] = {"RoleSessionName": spec.aws_session_name or "litellm-sagemaker-openai"}
    if spec.aws_web_identity_token:
        identity_token = spec.aws_web_identity_token

        def load_identity_token() -> str:
            value = _deref(identity_token)
            # A path (as in AWS_WEB_IDENTITY_TOKEN_FILE) is re-read on every refresh.
            if os.path.isfile(value):
                with open(value, encoding="utf-8") as handle:
                    value = handle.read().strip()
            register_secret(value)  # a file's token was never seen as a parameter
            return value

        fetcher: Any = AssumeRoleWithWebIdentityCredentialFetcher(
            _client_creator(spec, region), load_identity_token, role_arn, extra_args=extra
        )
        method = "assume-role-with-web-identity"
    else:
        if spec.aws_external_id:
            extra["ExternalId"] = _deref(spec.aws_external_id)
            register_secret(extra["ExternalId"])
        fetcher = AssumeRoleCredentialFetcher(
            _client_creator(spec, region), _base_credentials(spec), role_arn, extra_args=extra
        )
        method = "assume-role"
    refreshable: CredentialSource = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method=method
    )
    return refreshable


def _load_failure(exc: Exception) -> CredentialsError:
    if type(exc).__name__ == "NoRegionError":
        hint = (
            "botocore needs a region to call STS for this role: add 'region = us-east-1' (your "
            "region) to the AWS profile, or set AWS_REGION or AWS_DEFAULT_REGION"
        )
    else:
        hint = (
            "check aws_profile_name, aws_role_name and your AWS config files, and that the "
            "caller may sts:AssumeRole the role"
        )
    return CredentialsError(
        f"could not load AWS credentials ({type(exc).__name__}: {redact(str(exc))}); {hint}"
    )


def freeze(credentials: CredentialSource) -> FrozenCredentials:
    """One coherent (key, secret, token) snapshot, as CredentialsError if it cannot be had.

    Role credentials are fetched lazily: botocore assumes the role (first time, or on refresh)
    right here, so STS refusals, a missing region or an unreachable STS surface here too.
    """
    try:
        return credentials.get_frozen_credentials()
    except (CredentialsError, ConfigurationError):
        raise
    except Exception as exc:  # botocore: NoRegionError, ClientError, EndpointConnectionError...
        raise _load_failure(exc) from None


def credential_expiry(credentials: CredentialSource) -> datetime | None:
    """When refreshable credentials expire (None for static keys)."""
    expiry = getattr(credentials, "_expiry_time", None)
    return expiry if isinstance(expiry, datetime) else None
