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
from collections.abc import Iterator
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


def encode_body(body: dict[str, Any], extra_body: object = None) -> bytes:
    """The request body as UTF-8 JSON bytes, once; anything JSON cannot carry is refused by name.

    Only a failure pays for the search that names the culprit, so the usual call is one
    ``json.dumps``. ``extra_body`` is the caller's dict that ``body`` was merged from, so a
    problem in it is reported at ``extra_body[...]``.
    """
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")  # a lone surrogate fails here (UnicodeEncodeError)
    except (TypeError, ValueError, RecursionError) as exc:
        problem = _json_problem(body, extra_body if isinstance(extra_body, dict) else {}, exc)
    raise ConfigurationError(problem)  # outside the except: no chained traceback to carry


# The JSON encoder runs out of stack somewhere under ~1,000 levels, depending on how deep the
# caller already is; past this depth a RecursionError is blamed on the nesting.
MAX_DEPTH: Final = 500
_PATH_SHOWN: Final = 12  # segments of a path shown before it is cut short
_PLAIN: Final = "pass only str, int, finite float, bool, None, list and dict values"
_Problem = tuple[str, str]  # what is wrong, how to fix it


def _json_problem(body: dict[str, Any], extra: dict[Any, Any], exc: Exception) -> str:
    max_depth = MAX_DEPTH if isinstance(exc, RecursionError) else None
    for key, value in body.items():
        from_extra = key in extra and extra[key] is value
        subject = "extra_body" if from_extra else f"parameter {key!r}"
        problem = _key_problem(key)
        if problem is not None:
            where = "extra_body" if from_extra else "the call"
            return f"{subject} cannot be sent as JSON: {where} {problem[0]}; {problem[1]}"
        root = f"extra_body[{key!r}]" if from_extra else str(key)
        # extra_body itself is an ancestor of its values: a value that holds it is a cycle.
        ancestors = {id(extra): -1} if from_extra else {}
        found = _find_unencodable(value, root, ancestors, max_depth)
        if found is not None:
            where, (what, fix) = found
            return f"{subject} cannot be sent as JSON: {where} {what}; {fix}"
    return f"the request cannot be sent as JSON ({type(exc).__name__}: {exc}); {_PLAIN}"


def _string_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"the lone surrogate {text[exc.start]!r} at index {exc.start}, which UTF-8 cannot "
            "encode (text decoded with errors='surrogateescape', or half of a UTF-16 pair)"
        )
    return None


_SURROGATE_FIX: Final = "remove it, or replace it with text.encode('utf-8', 'replace').decode()"


def _key_problem(key: object) -> _Problem | None:
    if isinstance(key, str):
        bad = _string_problem(key)
        return None if bad is None else (f"has a key {key!r} with {bad}", _SURROGATE_FIX)
    if isinstance(key, float) and not math.isfinite(key):
        return f"has the key {key!r}, which JSON cannot represent", _PLAIN
    if key is None or isinstance(key, (int, float)):
        return None
    return f"has a key of type {type(key).__name__}", "use str keys"


def _value_problem(value: object) -> _Problem | None:
    """What is wrong with a value that is not a container, if anything."""
    if isinstance(value, str):
        bad = _string_problem(value)
        return None if bad is None else (f"is a string with {bad}", _SURROGATE_FIX)
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return f"is {name}, which JSON cannot represent", _PLAIN
    if value is None or isinstance(value, (int, dict, list, tuple)):
        return None
    return f"is a {type(value).__name__}, which JSON cannot encode", _PLAIN


def _path(root: str, segments: list[str]) -> str:
    if len(segments) <= _PATH_SHOWN:
        return root + "".join(segments)
    return f"{root}{''.join(segments[:_PATH_SHOWN])}… ({len(segments)} levels down)"


def _find_unencodable(
    value: Any, root: str, ancestors: dict[int, int], max_depth: int | None
) -> tuple[str, _Problem] | None:
    """The first part of ``value`` JSON cannot carry, depth first in the encoder's order.

    Iterative, so the search cannot itself exhaust the stack on the nesting it reports, and it
    keeps the containers on the current path (``ancestors``: id -> path length, -1 for
    extra_body itself), so a cycle is reported instead of followed.
    """
    segments: list[str] = []  # the path of ``value`` below ``root``
    frames: list[tuple[int, Iterator[tuple[str, Any]]]] = []  # containers being walked
    while True:
        problem = _value_problem(value)
        if problem is not None:
            return _path(root, segments), problem
        if isinstance(value, (dict, list, tuple)):
            if id(value) in ancestors:
                depth = ancestors[id(value)]
                again = "extra_body" if depth < 0 else _path(root, segments[:depth])
                return _path(root, segments), (
                    f"is {again} again: a cycle, which JSON cannot encode",
                    "pass a copy without the reference back",
                )
            if max_depth is not None and len(frames) >= max_depth:
                return _path(root, segments), (
                    f"nests more than {max_depth} levels deep, deeper than a JSON encoder or "
                    "a container's parser goes",
                    "flatten it, or send the deep part as a JSON string",
                )
            if isinstance(value, dict):
                for key in value:
                    problem = _key_problem(key)
                    if problem is not None:
                        return _path(root, segments), problem
                children: Iterator[tuple[str, Any]] = ((f"[{k!r}]", v) for k, v in value.items())
            else:
                children = ((f"[{i}]", v) for i, v in enumerate(value))
            ancestors[id(value)] = len(segments)
            frames.append((id(value), children))
        while frames:  # the next child of the innermost container that has one left
            child = next(frames[-1][1], None)
            if child is not None:
                del segments[len(frames) - 1 :]
                segments.append(child[0])
                value = child[1]
                break
            ancestors.pop(frames.pop()[0])
        else:
            return None
