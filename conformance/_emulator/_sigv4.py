"""Verify SigV4 header-signed requests (classic InvokeEndpoint) from the known test secrets.

The request is rebuilt from what arrived on the wire (method, raw path, raw query, the signed
headers and the body) and botocore recomputes the signature, so anything botocore can sign,
such as LiteLLM's ``sagemaker_chat/`` provider, verifies here. What botocore would read
leniently is refused first: a Host that is not a host name, a path or query with whitespace or
control characters (``urlsplit`` drops tabs and newlines), a date that is not 16 ASCII characters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Final

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from starlette.requests import Request

from ._credentials import TestCredentials
from ._refusals import malformed
from ._tokens import (
    ALGORITHM,
    MAX_CLOCK_SKEW_SECONDS,
    TokenRejected,
    Verdict,
    check_clock,
    check_scope,
    check_signature,
    compute_signature,
    find_secret,
    parse_amz_date,
    parse_scope,
)

SERVICE: Final = "sagemaker"
_AUTH_FIELDS: Final = ("Credential", "SignedHeaders", "Signature")
# A host name (underscores too: container names have them), IPv4 or bracketed IPv6 address
# (--host ::1), with an optional port.
_HOST_RE: Final = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# Visible ASCII without "#" (and "?" in the path): what urlsplit would not move elsewhere.
_PATH_RE: Final = re.compile(r"/[\x21\x22\x24-\x3e\x40-\x7e]*")
_QUERY_RE: Final = re.compile(r"[\x21\x22\x24-\x7e]*")
_HEADER_TEXT_RE: Final = re.compile(r"[\x20-\x7e]*")


def parse_authorization(value: str) -> dict[str, str]:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    if not _HEADER_TEXT_RE.fullmatch(value):
        malformed("the Authorization header has a control or non-ASCII character")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise TokenRejected("malformed", f"the Authorization header is not {ALGORITHM}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, field_value = item.strip().partition("=")
        if sep:
            fields[name] = field_value
    missing = [name for name in _AUTH_FIELDS if not fields.get(name)]
    if missing:
        raise TokenRejected("malformed", f"the Authorization header lacks {', '.join(missing)}")
    return fields


def verify_sigv4(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    credentials: Iterable[TestCredentials],
    now: float,
) -> Verdict:
    """Check a header-signed SigV4 request for service ``sagemaker`` in ``region``.

    Args:
        method: the HTTP method as received.
        raw_path: the path exactly as sent on the wire (still percent-encoded).
        query_string: the raw query string, without ``?``.
        headers: received headers, lower-case names, repeated values joined with ``,``.
        body: the request body.
        region: the emulator's region.
        credentials: the trusted key pairs.
        now: the current time in epoch seconds.

    Raises:
        TokenRejected: naming the first rule the request broke.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise TokenRejected("missing", "sign the request with SigV4 (Authorization header)")
    fields = parse_authorization(authorization)
    amz_date = headers.get("x-amz-date")
    if not amz_date:
        raise TokenRejected("malformed", "a SigV4 request needs an X-Amz-Date header")
    signed_at = parse_amz_date(amz_date)
    scope = parse_scope(fields["Credential"])
    check_scope(scope, service=SERVICE, region=region, amz_date=amz_date)
    signed_names = fields["SignedHeaders"].split(";")
    if "host" not in signed_names or any(name not in headers for name in signed_names):
        raise TokenRejected("malformed", "SignedHeaders must include host and name sent headers")
    secret = find_secret(scope.access_key_id, credentials)
    if not _HOST_RE.fullmatch(headers["host"]):
        malformed("the Host header is not a host name with an optional port")
    if not _PATH_RE.fullmatch(raw_path) or not _QUERY_RE.fullmatch(query_string):
        malformed("the path or query has whitespace, a control, '#' or a non-ASCII character")

    content_sha = headers.get("x-amz-content-sha256")
    if content_sha not in (None, UNSIGNED_PAYLOAD, hashlib.sha256(body).hexdigest()):
        raise TokenRejected("signature", "X-Amz-Content-SHA256 does not match the body")
    url = f"http://{headers['host']}{raw_path}" + (f"?{query_string}" if query_string else "")
    request = AWSRequest(
        method=method,
        url=url,
        headers={name: headers[name] for name in signed_names},
        data=body,
    )
    signer = SigV4Auth(
        ReadOnlyCredentials(scope.access_key_id, secret, headers.get("x-amz-security-token")),
        scope.service,
        scope.region,
    )
    check_signature(compute_signature(signer, request, amz_date), fields["Signature"])

    # A header signature has no lifetime of its own: it is valid within the clock skew.
    check_clock(signed_at, now)
    if now > signed_at + MAX_CLOCK_SKEW_SECONDS:
        raise TokenRejected("expired", "the request signature is too old; sign it again")
    return Verdict(scope.access_key_id, scope.region, signed_at, signed_at + MAX_CLOCK_SKEW_SECONDS)


def verify_request(
    request: Request,
    body: bytes,
    *,
    region: str,
    credentials: Iterable[TestCredentials],
    now: float,
) -> Verdict:
    """:func:`verify_sigv4` for a request as the emulator received it (raw path and query)."""
    headers = {name: ",".join(request.headers.getlist(name)) for name in request.headers}
    return verify_sigv4(
        method=request.method,
        raw_path=(request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1"),
        query_string=request.scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        region=region,
        credentials=credentials,
        now=now,
    )
