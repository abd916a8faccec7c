"""Mint SageMaker bearer tokens with botocore, byte-identical to sagemaker-core's generator.

A token is ``sagemaker-api-key-`` + base64 of a SigV4 pre-signed URL for the
``CallWithBearerToken`` action, with ``&Version=1`` appended. Signing is local: no network.
This module must not import litellm: the conformance kit mints through it.
"""

from __future__ import annotations

import base64
import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Protocol

from ._credentials import load_default_credentials, resolve_region
from ._exceptions import ConfigurationError, CredentialsError

if TYPE_CHECKING:
    from botocore.credentials import ReadOnlyCredentials

# The presigned request always names the global host, whatever the region's partition:
# sagemaker-core does the same, and the service validates the region from the credential scope.
TOKEN_HOST: Final = "sagemaker.amazonaws.com"
TOKEN_URL: Final = f"https://{TOKEN_HOST}/"
TOKEN_SERVICE: Final = "sagemaker"
TOKEN_ACTION: Final = "CallWithBearerToken"
TOKEN_PREFIX: Final = "sagemaker-api-key-"
TOKEN_VERSION: Final = "&Version=1"
MAX_TOKEN_SECONDS: Final = 43200  # the service caps tokens at 12 hours

_signing = threading.local()


class _SigningLogFilter(logging.Filter):
    """Drop botocore.auth's debug records while we sign: they contain the signature.

    botocore logs the canonical request (with any session token) and the final signature at
    DEBUG. For a presigned URL those *are* the bearer secret, so they must never reach a log,
    even when a user turns every logger to DEBUG. Other botocore signing is left alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_signing, "active", False)


logging.getLogger("botocore.auth").addFilter(_SigningLogFilter())


class SupportsFrozenCredentials(Protocol):
    """Anything botocore-like that can give a coherent (key, secret, token) snapshot."""

    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


def mint_token(credentials: ReadOnlyCredentials, region: str, expires: int) -> str:
    """Pure core: sign a ``CallWithBearerToken`` presigned URL and encode it as a token."""
    # Imported here, not at module level: botocore costs ~130 ms to import and LiteLLM does
    # not load it, so importing the plugin stays cheap until the first token is minted.
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=TOKEN_URL,
        headers={"host": TOKEN_HOST},
        params={"Action": TOKEN_ACTION},
    )
    _signing.active = True
    try:
        SigV4QueryAuth(credentials, TOKEN_SERVICE, region, expires=expires).add_auth(request)
    finally:
        _signing.active = False
    presigned = request.url.replace("https://", "") + TOKEN_VERSION
    return TOKEN_PREFIX + base64.b64encode(presigned.encode("utf-8")).decode("ascii")


def expiry_seconds(expiry: timedelta) -> int:
    """Validate a token lifetime and return it in whole seconds (1 s to 12 h)."""
    seconds = expiry.total_seconds()
    if seconds <= 0 or seconds > MAX_TOKEN_SECONDS:
        raise ConfigurationError(
            f"token expiry must be between 1 second and 12 hours, got {expiry}; "
            "pass e.g. expiry=timedelta(hours=1)"
        )
    return int(seconds)


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
        expiry: token lifetime, between 1 second and 12 hours.

    Returns:
        The token, ready for ``Authorization: Bearer <token>``.

    Raises:
        ConfigurationError: no region could be found, or the expiry is out of range.
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
