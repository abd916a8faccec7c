"""Read a bearer token's pre-signed URL strictly: only the bytes botocore's signer writes parse.

A lenient reader lets several spellings stand for one signed request: ``urlsplit`` drops tabs and
newlines, ``unquote`` reads ``/``, ``%2f`` and ``%2F`` alike, ``str.isdigit`` and ``strptime``
take ``²``, Arabic-Indic digits or a 15-character date. Each spelling is then a token that AWS's
verifier refuses and the emulator would accept. So every piece is checked for the one spelling
``SigV4QueryAuth`` produces: canonical base64, visible ASCII only, ``host/path?query`` with each
key and value in SigV4's percent-encoding, ASCII digits, and finally the parameter order.
A failure is the ``malformed`` rule; messages never quote a value, only the parameter's name.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote, unquote

from ._refusals import malformed

AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
# SigV4's unreserved characters: everything else is percent-encoded, with upper-case hex.
SIGV4_SAFE: Final = "-_.~"
# The order SigV4QueryAuth writes: the operation's parameters, then its own, then the signature.
QUERY_ORDER: Final = (
    "Action",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
)
REQUIRED: Final = tuple(key for key in QUERY_ORDER if key not in ("Action", "X-Amz-Security-Token"))
# A host name or address, with an optional port: what botocore puts in the URL and the Host
# header. Anything else ("[", "@", a scheme) makes urlsplit raise or read another host.
HOST_RE: Final = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
# Explicit ASCII classes throughout: \d and str.isdigit also match "²" and "٣".
_BASE64_RE: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_VISIBLE_RE: Final = re.compile(r"[\x21-\x7e]*")
_URL_RE: Final = re.compile(r"(?P<host>[^/]*)(?P<path>/[A-Za-z0-9._~/-]*)\?(?P<query>.*)")
_AMZ_DATE_RE: Final = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_EXPIRES_RE: Final = re.compile(r"[1-9][0-9]{0,11}")


@dataclass(frozen=True)
class PresignedUrl:
    """A strictly parsed ``host/path?query``: the query as presented, its parameters decoded."""

    host: str
    path: str
    query: str
    params: dict[str, str]


def decode_token(body: str) -> str:
    """The URL inside a token's base64, refused unless both are in their one canonical form."""
    if not _BASE64_RE.fullmatch(body):
        malformed("the bearer token is not standard base64 (A-Z a-z 0-9 + / and = padding only)")
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error:
        malformed("the bearer token is not base64 of a URL (bad length or padding)")
    if base64.b64encode(raw).decode("ascii") != body:
        # Other bits before the padding decode to the same bytes: no signer writes them.
        malformed("the bearer token is not canonical base64; send it as it was minted")
    text = raw.decode("latin-1")
    if not _VISIBLE_RE.fullmatch(text):
        malformed(
            "the decoded token has whitespace, a control character or a non-ASCII byte; "
            "a token is base64 of the URL botocore signs, unchanged"
        )
    return text


def parse_url(url: str) -> PresignedUrl:
    """Split ``host/path?query`` and decode each parameter, refusing any other spelling."""
    match = _URL_RE.fullmatch(url)
    if match is None or not HOST_RE.fullmatch(match["host"]):
        malformed("the decoded token is not a pre-signed URL (host/path?query, no scheme)")
    params: dict[str, str] = {}
    for pair in match["query"].split("&"):
        key, sep, value = pair.partition("=")
        if not sep:
            malformed("the pre-signed URL has a parameter without '='")
        name = _canonical(key, "a parameter name")
        if name in params:
            malformed(f"the pre-signed URL repeats {_label(name)}")
        params[name] = _canonical(value, _label(name))
    missing = [key for key in REQUIRED if key not in params]
    if missing:
        malformed(f"the pre-signed URL lacks {', '.join(missing)}")
    return PresignedUrl(match["host"], match["path"], match["query"], params)


def parse_amz_date(value: str) -> float:
    """Turn ``YYYYMMDDTHHMMSSZ`` (16 ASCII characters, a real UTC time) into epoch seconds."""
    if _AMZ_DATE_RE.fullmatch(value):
        try:
            return float(calendar.timegm(datetime.strptime(value, AMZ_DATE_FORMAT).timetuple()))
        except ValueError:
            pass  # a month 13, a second 60: the shape is right, the time is not
    malformed("X-Amz-Date is not YYYYMMDDTHHMMSSZ in ASCII digits")


def parse_expires(value: str) -> int:
    """``X-Amz-Expires`` as botocore writes it: a positive whole number, ASCII, no leading 0."""
    if not _EXPIRES_RE.fullmatch(value):
        malformed("X-Amz-Expires must be a positive whole number of seconds in ASCII digits")
    return int(value)


def check_form(url: PresignedUrl) -> None:
    """Refuse a query that botocore would not write for these parameters (their order).

    Each key and value was already checked for its canonical encoding, so re-encoding the
    parameters in SigV4QueryAuth's order gives back the presented query exactly when the
    order is the signer's. The signature cannot see the order: it covers the sorted query.
    """
    order = [key for key in QUERY_ORDER if key in url.params]
    canonical = "&".join(f"{_encode(key)}={_encode(url.params[key])}" for key in order)
    if len(order) != len(url.params) or canonical != url.query:
        malformed(
            "the pre-signed URL's parameters are not in the order SigV4QueryAuth writes them; "
            "send the token as it was minted"
        )


def _encode(text: str) -> str:
    return quote(text, safe=SIGV4_SAFE)


def _canonical(text: str, what: str) -> str:
    """Decode one key or value that must be in SigV4's canonical percent-encoding."""
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        malformed(f"{what} percent-encodes bytes that are not UTF-8")
    if _encode(decoded) != text:
        malformed(
            f"{what} is not in SigV4's canonical percent-encoding (every byte but "
            "A-Z a-z 0-9 - _ . ~ as %XX with upper-case hex, nothing else)"
        )
    return decoded


def _label(name: str) -> str:
    """A parameter's name for a message: only the known ones, never text the caller chose."""
    return repr(name) if name in QUERY_ORDER or name == "Version" else "a parameter"
