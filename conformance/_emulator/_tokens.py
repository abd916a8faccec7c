"""Verify SageMaker bearer tokens the way the service does, from a known set of test secrets.

A token is ``sagemaker-api-key-`` + base64 of a SigV4 pre-signed URL for ``CallWithBearerToken``
plus ``&Version=1``. Verification checks that the URL is that request (host, path, action,
version, parameters), recomputes the query signature with botocore (the same signer that
minted it) and checks the clock. Rule names are stable: tests and the docs use them.
No message here ever contains the token, its signature or a secret.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

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

ALGORITHM: Final = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
# AWS tolerates a few minutes of clock drift between signer and service.
MAX_CLOCK_SKEW_SECONDS: Final = 300

# rule -> (HTTP status, AWS error type). 401: no usable credential at all; 403: a credential
# AWS would parse and then refuse (identity, signature, scope or time), as AWS answers those.
RULES: Final[dict[str, tuple[int, str]]] = {
    "missing": (401, "MissingAuthenticationTokenException"),
    "prefix": (401, "IncompleteSignatureException"),
    "malformed": (401, "IncompleteSignatureException"),
    "version": (401, "IncompleteSignatureException"),
    "action": (403, "AccessDeniedException"),
    "host": (403, "InvalidSignatureException"),
    "path": (403, "InvalidSignatureException"),
    "service": (403, "InvalidSignatureException"),
    "region": (403, "InvalidSignatureException"),
    "unknown_key": (403, "UnrecognizedClientException"),
    "signature": (403, "InvalidSignatureException"),
    "expires_too_long": (403, "InvalidSignatureException"),
    "expired": (403, "ExpiredTokenException"),
    "not_yet_valid": (403, "InvalidSignatureException"),
}
_QUERY_AUTH_KEYS: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_OPTIONAL_KEYS: Final = frozenset({"Action", "X-Amz-Security-Token"})


class TokenRejected(Exception):
    """A credential failed one verification rule; ``rule`` names it, ``status`` is 401 or 403."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} (rule: {rule})")
        self.rule = rule
        self.status, self.error_type = RULES[rule]
        self.message = f"{message} (rule: {rule})"


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
        raise TokenRejected("malformed", "credential scope is not <key>/<date>/<region>/<service>")
    return Scope(*parts[:4])


def parse_amz_date(value: str) -> float:
    """Turn ``YYYYMMDDTHHMMSSZ`` into epoch seconds."""
    try:
        return float(calendar.timegm(time.strptime(value, AMZ_DATE_FORMAT)))
    except ValueError:
        raise TokenRejected("malformed", "X-Amz-Date is not YYYYMMDDTHHMMSSZ") from None


def check_scope(scope: Scope, *, service: str, region: str, amz_date: str) -> None:
    """Refuse a scope naming another service, another region, or another day than its date."""
    if scope.date != amz_date[:8]:
        raise TokenRejected("malformed", "credential scope date differs from X-Amz-Date")
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
    for creds in credentials:
        if hmac.compare_digest(creds.access_key_id, access_key_id):
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
    if not hmac.compare_digest(expected.encode(), presented.encode()):
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
    try:
        decoded = base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenRejected("malformed", "the bearer token is not base64 of a URL") from None
    if not decoded.endswith(TOKEN_VERSION):
        raise TokenRejected("version", f"the decoded token does not end with {TOKEN_VERSION!r}")
    host, path, raw_query, params = _split_presigned(decoded[: -len(TOKEN_VERSION)])

    if "Version" in params:
        raise TokenRejected("version", f"the token names a version before its {TOKEN_VERSION!r}")
    if params.get("Action") != TOKEN_ACTION:
        raise TokenRejected("action", f"the token is not for the {TOKEN_ACTION} action")
    if params["X-Amz-Algorithm"] != ALGORITHM or params["X-Amz-SignedHeaders"] != "host":
        raise TokenRejected("malformed", f"the token must be {ALGORITHM} signed over 'host' only")
    amz_date = params["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    scope = parse_scope(params["X-Amz-Credential"])
    check_scope(scope, service=TOKEN_SERVICE, region=region, amz_date=amz_date)
    expires = _parse_expires(params["X-Amz-Expires"])
    secret = find_secret(scope.access_key_id, credentials)

    unsigned_query = "&".join(
        pair for pair in raw_query.split("&") if not pair.startswith("X-Amz-Signature=")
    )
    request = AWSRequest(
        method="POST", url=f"https://{host}{path}?{unsigned_query}", headers={"host": host}
    )
    signer = SigV4QueryAuth(
        ReadOnlyCredentials(scope.access_key_id, secret, params.get("X-Amz-Security-Token")),
        scope.service,
        scope.region,
        expires=expires,
    )
    check_signature(compute_signature(signer, request, amz_date), params["X-Amz-Signature"])
    check_request(host, path, params)

    if expires > MAX_TOKEN_SECONDS:
        raise TokenRejected(
            "expires_too_long", f"X-Amz-Expires is {expires}s; the most allowed is 12 hours"
        )
    check_clock(signed_at, now)
    if now > signed_at + expires:
        raise TokenRejected("expired", "the bearer token has expired; mint a fresh one")
    return Verdict(scope.access_key_id, scope.region, signed_at, signed_at + expires)


def check_request(host: str, path: str, params: dict[str, str]) -> None:
    """Refuse a validly signed URL that is not SageMaker's CallWithBearerToken request.

    The signature covers the host, path and parameters the URL names, so a URL signed for
    another host verifies; it is still not a token. (An edited URL fails the signature first.)
    """
    if host != TOKEN_HOST:
        raise TokenRejected("host", f"the token is signed for {host!r}, not {TOKEN_HOST!r}")
    if path != "/":
        raise TokenRejected("path", f"the token is signed for the path {path!r}, not '/'")
    unexpected = sorted(set(params) - set(_QUERY_AUTH_KEYS) - _OPTIONAL_KEYS)
    if unexpected:
        raise TokenRejected(
            "malformed", f"the pre-signed URL has parameters a token never has: {unexpected}"
        )


def check_clock(signed_at: float, now: float) -> None:
    """Refuse a signature dated further in the future than the allowed clock skew."""
    if signed_at > now + MAX_CLOCK_SKEW_SECONDS:
        raise TokenRejected(
            "not_yet_valid", "the credential is dated in the future; check the signer's clock"
        )


def _parse_expires(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise TokenRejected("malformed", "X-Amz-Expires must be a positive whole number")
    return int(value)


def _split_presigned(url: str) -> tuple[str, str, str, dict[str, str]]:
    """Split ``host/path?query`` into parts and a param map, refusing duplicates or gaps."""
    parts = urlsplit(f"https://{url}")
    if not parts.netloc or not parts.query or parts.fragment:
        raise TokenRejected("malformed", "the decoded token is not a pre-signed URL")
    params: dict[str, str] = {}
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        name = unquote(key)
        if name in params:
            raise TokenRejected("malformed", f"the pre-signed URL repeats {name!r}")
        params[name] = unquote(value)
    missing = [key for key in _QUERY_AUTH_KEYS if key not in params]
    if missing:
        raise TokenRejected("malformed", f"the pre-signed URL lacks {', '.join(missing)}")
    return parts.netloc, parts.path or "/", parts.query, params
