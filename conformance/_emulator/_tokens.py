"""Verify SageMaker bearer tokens the way the service does, from a known set of test secrets.

A token is ``sagemaker-api-key-`` + base64 of a SigV4 pre-signed URL for ``CallWithBearerToken``
plus ``&Version=1``. Verification reads the URL strictly (``_presigned``: only the bytes
botocore's signer writes parse), checks that it is that request (host, path, action, version,
parameters), recomputes the signature with botocore over the canonical request, and checks the
clock. Every failure is a ``TokenRejected`` naming a stable rule (``_refusals``); tests and the
docs use the names. No message here ever contains the token, its signature or a secret.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from litellm_sagemaker_openai import (
    MAX_TOKEN_SECONDS,
    TOKEN_ACTION,
    TOKEN_HOST,
    TOKEN_PREFIX,
    TOKEN_SERVICE,
    TOKEN_VERSION,
)

from ._credentials import TestCredentials
from ._presigned import (
    QUERY_ORDER,
    PresignedUrl,
    check_form,
    decode_token,
    parse_amz_date,
    parse_expires,
    parse_url,
)
from ._refusals import RULES, TokenRejected, malformed

__all__ = [
    "ALGORITHM",
    "MAX_CLOCK_SKEW_SECONDS",
    "RULES",
    "Scope",
    "TokenRejected",
    "Verdict",
    "check_clock",
    "check_request",
    "check_scope",
    "check_signature",
    "compute_signature",
    "find_secret",
    "parse_amz_date",
    "parse_scope",
    "verify_token",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
# AWS tolerates a few minutes of clock drift between signer and service.
MAX_CLOCK_SKEW_SECONDS: Final = 300


@dataclass(frozen=True)
class Verdict:
    """What a valid credential proved: who signed it, for which region, until when."""

    access_key_id: str
    region: str
    signed_at: float
    expires_at: float


@dataclass(frozen=True)
class Scope:
    """The parsed ``X-Amz-Credential``: ``<key>/<yyyymmdd>/<region>/<service>/aws4_request``."""

    access_key_id: str
    date: str
    region: str
    service: str


def parse_scope(credential: str) -> Scope:
    """Split a credential scope, refusing anything not shaped like SigV4's."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        malformed("the credential scope is not <key>/<date>/<region>/<service>/aws4_request")
    return Scope(*parts[:4])


def check_scope(scope: Scope, *, service: str, region: str, amz_date: str) -> None:
    """Refuse a scope naming another service, another region, or another day than its date."""
    if scope.date != amz_date[:8]:
        malformed("the credential scope's date differs from X-Amz-Date")
    if scope.service != service:
        raise TokenRejected("service", f"signed for service {scope.service!r}, not {service!r}")
    if scope.region != region:
        raise TokenRejected(
            "region",
            f"signed for region {scope.region!r} but this endpoint is in {region!r}; "
            f"mint the token for {region!r}",
        )


def find_secret(access_key_id: str, credentials: Iterable[TestCredentials]) -> str:
    """Return the secret for a configured access key, or refuse an unknown key."""
    # Bytes, not str: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    presented = access_key_id.encode("utf-8", "surrogatepass")
    for creds in credentials:
        if hmac.compare_digest(creds.access_key_id.encode("utf-8", "surrogatepass"), presented):
            return creds.secret_access_key
    raise TokenRejected(
        "unknown_key", "the access key is not one of the emulator's test credentials"
    )


def compute_signature(signer: SigV4Auth, request: AWSRequest, amz_date: str) -> str:
    """Recompute a SigV4 signature with botocore's own canonicalisation (no logging)."""
    request.context["timestamp"] = amz_date
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


def check_signature(expected: str, presented: str) -> None:
    """Compare signatures in constant time."""
    if not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "surrogatepass")):
        raise TokenRejected(
            "signature",
            "the signature does not match; sign with the secret key that belongs to the access key",
        )


def verify_token(
    token: str | None,
    *,
    region: str,
    credentials: Iterable[TestCredentials],
    now: float,
) -> Verdict:
    """Check a bearer token against every rule, in the service's order.

    Args:
        token: the text after ``Bearer `` (``None`` when there was no bearer header).
        region: the emulator's region; tokens scoped to any other region are refused.
        credentials: the key pairs whose signatures are trusted.
        now: the current time in epoch seconds.

    Returns:
        The verdict for a valid token.

    Raises:
        TokenRejected: naming the first rule the token broke.
    """
    if not token:
        raise TokenRejected(
            "missing", "send 'Authorization: Bearer <token>' with a SageMaker bearer token"
        )
    if not token.startswith(TOKEN_PREFIX):
        raise TokenRejected("prefix", f"the bearer token does not start with {TOKEN_PREFIX!r}")
    decoded = decode_token(token[len(TOKEN_PREFIX) :])
    if not decoded.endswith(TOKEN_VERSION):
        raise TokenRejected("version", f"the decoded token does not end with {TOKEN_VERSION!r}")
    url = parse_url(decoded[: -len(TOKEN_VERSION)])
    params = url.params

    if "Version" in params:
        raise TokenRejected("version", f"the token names a version before its {TOKEN_VERSION!r}")
    if params.get("Action") != TOKEN_ACTION:
        raise TokenRejected("action", f"the token is not for the {TOKEN_ACTION} action")
    if params["X-Amz-Algorithm"] != ALGORITHM or params["X-Amz-SignedHeaders"] != "host":
        malformed(f"the token must be {ALGORITHM} signed over 'host' only")
    amz_date = params["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    scope = parse_scope(params["X-Amz-Credential"])
    check_scope(scope, service=TOKEN_SERVICE, region=region, amz_date=amz_date)
    expires = parse_expires(params["X-Amz-Expires"])
    secret = find_secret(scope.access_key_id, credentials)

    signer = SigV4QueryAuth(
        ReadOnlyCredentials(scope.access_key_id, secret, params.get("X-Amz-Security-Token")),
        scope.service,
        scope.region,
        expires=expires,
    )
    expected = compute_signature(signer, canonical_request(url), amz_date)
    check_signature(expected, params["X-Amz-Signature"])
    check_request(url)

    if expires > MAX_TOKEN_SECONDS:
        raise TokenRejected(
            "expires_too_long", f"X-Amz-Expires is {expires}s; the most allowed is 12 hours"
        )
    check_clock(signed_at, now)
    if now > signed_at + expires:
        raise TokenRejected("expired", "the bearer token has expired; mint a fresh one")
    return Verdict(scope.access_key_id, scope.region, signed_at, signed_at + expires)


def canonical_request(url: PresignedUrl) -> AWSRequest:
    """The request the token claims to sign, from its decoded parameters.

    Given as ``params``, botocore encodes and sorts them itself: the signature is checked over
    the canonical query of what the URL means, never over the URL's own spelling.
    """
    unsigned = {key: value for key, value in url.params.items() if key != "X-Amz-Signature"}
    return AWSRequest(
        method="POST",
        url=f"https://{url.host}{url.path}",
        headers={"host": url.host},
        params=unsigned,
    )


def check_request(url: PresignedUrl) -> None:
    """Refuse a validly signed URL that is not SageMaker's CallWithBearerToken request.

    The signature covers the host, path and parameters the URL names, so a URL signed for
    another host verifies; it is still not a token. (An edited URL fails the signature first.)
    Last, the parameters must be in the order botocore writes them, which no signature covers.
    """
    if url.host != TOKEN_HOST:
        raise TokenRejected("host", f"the token is signed for {url.host!r}, not {TOKEN_HOST!r}")
    if url.path != "/":
        raise TokenRejected("path", f"the token is signed for the path {url.path!r}, not '/'")
    unexpected = sorted(set(url.params) - set(QUERY_ORDER))
    if unexpected:
        malformed(f"the pre-signed URL has parameters a token never has: {unexpected}")
    check_form(url)


def check_clock(signed_at: float, now: float) -> None:
    """Refuse a signature dated further in the future than the allowed clock skew."""
    if signed_at > now + MAX_CLOCK_SKEW_SECONDS:
        raise TokenRejected(
            "not_yet_valid", "the credential is dated in the future; check the signer's clock"
        )
