"""Mint SageMaker bearer tokens, byte-identical to sagemaker-core's generator.

A token is ``sagemaker-api-key-`` + base64 of a SigV4 pre-signed URL for the
``CallWithBearerToken`` action, with ``&Version=1`` appended. Signing is local: no network.
This module must not import litellm: the conformance kit mints through it.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Final

from ._credentials import (
    CredentialSource,
    FrozenCredentials,
    load_default_credentials,
    resolve_region,
)
from ._exceptions import ConfigurationError, CredentialsError
from ._sigv4 import presign_post

# The presigned request always names the global host, whatever the region's partition:
# sagemaker-core does the same, and the service validates the region from the credential scope.
TOKEN_HOST: Final = "sagemaker.amazonaws.com"
TOKEN_SERVICE: Final = "sagemaker"
TOKEN_ACTION: Final = "CallWithBearerToken"
TOKEN_PREFIX: Final = "sagemaker-api-key-"
TOKEN_VERSION: Final = "&Version=1"
MAX_TOKEN_SECONDS: Final = 43200  # the service caps tokens at 12 hours


# Anything botocore-like that can give a coherent (key, secret, token) snapshot.
SupportsFrozenCredentials = CredentialSource


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def mint_token(
    credentials: FrozenCredentials, region: str, expires: int, now: datetime | None = None
) -> str:
    """Pure core: sign a ``CallWithBearerToken`` presigned URL and encode it as a token.

    ``now`` (UTC) is the signing time; tests pin it, everyone else leaves it to the clock.
    """
    presigned = presign_post(
        host=TOKEN_HOST,
        service=TOKEN_SERVICE,
        region=region,
        params={"Action": TOKEN_ACTION},
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        session_token=credentials.token,
        expires=expires,
        now=now or _utcnow(),
    )
    return TOKEN_PREFIX + base64.b64encode((presigned + TOKEN_VERSION).encode("utf-8")).decode(
        "ascii"
    )


def expiry_seconds(expiry: object) -> int:
    """Validate a token lifetime and return it in seconds.

    Accepted: a ``timedelta`` of a whole number of seconds, from 1 second to 12 hours.
    ``X-Amz-Expires`` counts whole seconds, so a sub-second part is refused rather than rounded:
    down, 0.5 s minted ``X-Amz-Expires=0``, which the route refuses, and 1.9 s a 1 s token; up,
    a token would outlive what was asked.
    """
    example = "pass e.g. expiry=timedelta(hours=1)"
    if not isinstance(expiry, timedelta):
        raise ConfigurationError(
            f"token expiry must be a datetime.timedelta, got {type(expiry).__name__} "
            f"{expiry!r}; {example}"
        )
    seconds = expiry.days * 86400 + expiry.seconds  # exact, unlike total_seconds()
    if expiry.microseconds:
        raise ConfigurationError(
            f"token expiry must be a whole number of seconds (X-Amz-Expires counts seconds), got "
            f"{expiry}; pass e.g. expiry=timedelta(seconds={max(seconds, 1)})"
        )
    if not 1 <= seconds <= MAX_TOKEN_SECONDS:
        raise ConfigurationError(
            f"token expiry must be between 1 second and 12 hours, got {expiry}; {example}"
        )
    return seconds


def generate_token(
    region: str | None = None,
    credentials: SupportsFrozenCredentials | None = None,
    expiry: timedelta = timedelta(hours=12),
) -> str:
    """Generate a SageMaker bearer token for the OpenAI-compatible route.

    Args:
        region: AWS region the token is for. When omitted it is resolved from
            ``AWS_REGION_NAME``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile.
        credentials: botocore credentials. When omitted, botocore's default chain is used.
        expiry: token lifetime: a ``timedelta`` of a whole number of seconds, from 1 second
            to 12 hours. A sub-second part is refused, not rounded: ``X-Amz-Expires`` counts
            whole seconds, and 0.5 s would mint ``X-Amz-Expires=0``, which the route refuses.

    Returns:
        The token, ready for ``Authorization: Bearer <token>``.

    Raises:
        ConfigurationError: no region could be found, or the expiry is not a ``timedelta``,
            not whole seconds, or out of range.
        CredentialsError: no AWS credentials could be found.
    """
    seconds = expiry_seconds(expiry)
    region = resolve_region(region)
    source = credentials if credentials is not None else load_default_credentials()
    if source is None:
        raise CredentialsError(
            "no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or pass credentials="
        )
    # One atomic snapshot: a refresh between reading the key and the secret would mix
    # two credential versions and yield a token that fails with InvalidSignature.
    return mint_token(source.get_frozen_credentials(), region, seconds)
