"""Check a caller's api_key, timeout, extra_headers and parameters before any I/O.

Each check raises :class:`ConfigurationError` with a message that says what to change and never
echoes a secret. Without them these inputs fail later and worse: inside httpx/h11 as an
``APIConnectionError`` the Router retries, with the token in httpcore's DEBUG log and in the
exception chain (a token read from a file keeps its newline), or as a request that reaches the
container with a body it cannot parse. litellm-free.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import httpx

from ._exceptions import ConfigurationError
from ._token import TOKEN_PREFIX

DEFAULT_TIMEOUT: Final = 600.0
# A token is the prefix plus base64: nothing else can be in a header httpx will send.
_TOKEN_RE: Final = re.compile(r"sagemaker-api-key-[A-Za-z0-9+/=]+")
# RFC 9110 field-name: a token of visible ASCII without separators.
_HEADER_NAME_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# The HTTP client owns these: connection management (RFC 9110 section 7.6.1) and framing.
HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
     "proxy-authenticate", "proxy-authorization"}
)  # fmt: skip
LENGTH_HEADERS: Final = frozenset({"content-length", "transfer-encoding"})
# The plugin sets these on every request; a caller's copy is dropped, not sent twice.
PLUGIN_HEADERS: Final = frozenset({"authorization", "host", "accept", "content-type"})


def check_api_key(api_key: object) -> str | None:
    """The pre-minted bearer token, or None to mint from AWS credentials."""
    if api_key is None or api_key == "":
        return None
    if not isinstance(api_key, str):
        raise ConfigurationError(
            f"api_key must be a string (a pre-minted '{TOKEN_PREFIX}...' token), got "
            f"{type(api_key).__name__}; omit it to mint tokens from your AWS credentials"
        )
    if api_key != api_key.strip():
        raise ConfigurationError(
            "api_key starts or ends with whitespace (a token read from a file keeps its "
            "newline): strip it, e.g. open(path).read().strip()"
        )
    if not api_key.startswith(TOKEN_PREFIX):
        raise ConfigurationError(
            f"api_key for sagemaker_openai must be a pre-minted '{TOKEN_PREFIX}...' bearer "
            "token; omit it to mint tokens from your AWS credentials"
        )
    if not _TOKEN_RE.fullmatch(api_key):
        what = (
            "whitespace or control characters"
            if any(c.isspace() or not c.isprintable() for c in api_key)
            else "characters a bearer token cannot contain"
        )
        raise ConfigurationError(
            f"api_key contains {what}: a token is '{TOKEN_PREFIX}' followed by base64; "
            "pass it exactly as generate_token() returned it"
        )
    return api_key


def check_timeout(value: object) -> httpx.Timeout:
    """An httpx timeout from LiteLLM's ``timeout`` (seconds, or an httpx.Timeout as given)."""
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        seconds = DEFAULT_TIMEOUT
    else:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            seconds = math.nan
    # 0 would fail every call at once, a negative value raises inside the socket layer, NaN
    # and infinity make httpx wait forever or crash: none of them is a usable deadline.
    if isinstance(value, bool) or not (math.isfinite(seconds) and seconds > 0):
        raise ConfigurationError(
            f"timeout must be a positive, finite number of seconds, got {value!r}; pass e.g. "
            "timeout=60, or leave it out for LiteLLM's default of 600"
        )
    return httpx.Timeout(seconds, connect=min(seconds, 30.0))


def check_headers(headers: object) -> dict[str, str]:
    """Validated extra headers, without the ones the plugin sets (:data:`PLUGIN_HEADERS`)."""
    if not headers:
        return {}
    if not isinstance(headers, dict):
        raise ConfigurationError(
            f"extra_headers must be a dict of str to str, got {type(headers).__name__}"
        )
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
            raise ConfigurationError(
                f"extra_headers: {name!r} is not a valid header name (letters, digits and "
                "!#$%&'*+-.^_`|~ only); fix or remove it"
            )
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in LENGTH_HEADERS:
            kind = "a length/framing" if lower in LENGTH_HEADERS else "a hop-by-hop"
            raise ConfigurationError(
                f"extra_headers: {name!r} is {kind} header that the HTTP client sets itself; "
                "remove it"
            )
        if not isinstance(value, str):
            raise ConfigurationError(
                f"extra_headers: the value of {name!r} is a {type(value).__name__}; header "
                f"values must be strings, e.g. {{{name!r}: {str(value)!r}}}"
            )
        if any(not c.isprintable() and c != "\t" for c in value):
            raise ConfigurationError(
                f"extra_headers: the value of {name!r} contains CR, LF or another control "
                "character, which would split or corrupt the request; remove them"
            )
        if not value.isascii():
            raise ConfigurationError(
                f"extra_headers: the value of {name!r} is not ASCII; HTTP header values must "
                "be ASCII (percent- or base64-encode other text)"
            )
        if lower not in PLUGIN_HEADERS:
            out[name] = value
    return out


def encode_body(body: dict[str, Any]) -> bytes:
    """The request body as JSON bytes, once; anything JSON cannot carry is refused by name."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ConfigurationError(_json_problem(body)) from None
    return text.encode("utf-8")


def _json_problem(body: dict[str, Any]) -> str:
    for key, value in body.items():
        found = _find_unencodable(value, key)
        if found is not None:
            path, what = found
            return (
                f"parameter {key!r} cannot be sent as JSON: {path} {what}; pass only str, int, "
                "finite float, bool, None, list and dict values"
            )
    return "the request cannot be sent as JSON; pass only plain JSON values"


def _find_unencodable(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return path, f"is {name}, which JSON cannot represent"
    if value is None or isinstance(value, (str, int)):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return path, f"has a key of type {type(key).__name__}"
            found = _find_unencodable(item, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_unencodable(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return path, f"is a {type(value).__name__}, which JSON cannot encode"
