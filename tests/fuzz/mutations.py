"""Mutations of text for the property tests: what a careless or hostile client changes.

Each edit is a ``functools.partial`` waiting for the text, so Hypothesis shows a failing case as
the list of edits that made it (``partial(insert, '\\t', 5)``). Positions wrap around the text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import quote, unquote

from hypothesis import strategies as st

Edit = Callable[[str], str]
TOKEN_PREFIX = "sagemaker-api-key-"

# Digits that str.isdigit, int() or \d accept besides 0-9, indexed by value: Arabic-Indic,
# Extended Arabic-Indic, Devanagari, fullwidth, mathematical bold, and superscripts (isdigit only).
DIGIT_SCRIPTS = (
    *("".join(chr(zero + d) for d in range(10)) for zero in (0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE)),
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
)
PIECES = (
    "\t", "\r", "\n", "\r\n", "\x00", "\x0b", "\x0c", " ", "\x7f", "\x85", "\xa0", "\u2028",
    "\ufeff", "\u200b", "[", "]", "@", "#", "?", "&", "=", "%", "%2", "%2F", "%2f", "%20", "%0A",
    "%00", "%C3%A9", "+", "/", ":", ";", "\\", "é", "²", "\u0663", "\uff10", "\U0001f600", "-", "_", ".",
    "~", "0", "9", "a", "A", "T", "Z", "Version=1", "&Version=1", "&Action=CallWithBearerToken",
    "X-Amz-Date=", "%2Faws4_request", "https://",
)  # fmt: skip


def _cut(url: str, at: int) -> int:
    return at % (len(url) + 1)


def insert(piece: str, at: int, url: str) -> str:
    cut = _cut(url, at)
    return url[:cut] + piece + url[cut:]


def delete(at: int, length: int, url: str) -> str:
    cut = _cut(url, at)
    return url[:cut] + url[cut + length :]


def replace(piece: str, at: int, url: str) -> str:
    cut = _cut(url, at)
    return url[:cut] + piece + url[cut + 1 :]


def percent_encode(at: int, lower: bool, url: str) -> str:
    """One character as %XX (of its UTF-8 bytes), as a lenient encoder might write it."""
    if not url:
        return url
    cut = at % len(url)
    encoded = quote(url[cut], safe="")
    if encoded == url[cut]:
        encoded = "".join(f"%{b:02X}" for b in url[cut].encode())
    return url[:cut] + (encoded.lower() if lower else encoded) + url[cut + 1 :]


def percent_decode(nth: int, url: str) -> str:
    """Decode the nth %XX escape in place."""
    spots = [i for i in range(len(url) - 2) if url[i] == "%"]
    if not spots:
        return url
    cut = spots[nth % len(spots)]
    return url[:cut] + unquote(url[cut : cut + 3]) + url[cut + 3 :]


def change_case(at: int, length: int, how: str, url: str) -> str:
    cut = _cut(url, at)
    span = url[cut : cut + length]
    cased = {"lower": str.lower, "upper": str.upper, "swapcase": str.swapcase}[how](span)
    return url[:cut] + cased + url[cut + length :]


def other_digit(nth: int, script: int, encoded: bool, url: str) -> str:
    """Swap the nth ASCII digit for the same digit of another script, raw or percent-encoded."""
    spots = [i for i, c in enumerate(url) if c in "0123456789"]
    if not spots:
        return url
    cut = spots[nth % len(spots)]
    digit = DIGIT_SCRIPTS[script % len(DIGIT_SCRIPTS)][int(url[cut])]
    return url[:cut] + (quote(digit) if encoded else digit) + url[cut + 1 :]


def _query_edit(url: str, change: Callable[[list[str]], list[str]]) -> str:
    body, version, _ = url.partition("&Version=1")
    head, sep, query = body.partition("?")
    if not sep:
        return url
    return head + sep + "&".join(change(query.split("&"))) + version + _


def reorder(order: list[int], url: str) -> str:
    """Put the query's pairs in another order (``order`` ranks them; ties keep their order)."""

    def permute(pairs: list[str]) -> list[str]:
        return sorted(pairs, key=lambda pair: order[pairs.index(pair) % len(order)])

    return _query_edit(url, permute)


def repeat_pair(nth: int, url: str) -> str:
    return _query_edit(url, lambda pairs: [*pairs, pairs[nth % len(pairs)]])


positions = st.integers(0, 400)
pieces = st.sampled_from(PIECES) | st.text(max_size=3)
url_edits: st.SearchStrategy[Edit] = st.one_of(
    st.builds(functools.partial, st.just(insert), pieces, positions),
    st.builds(functools.partial, st.just(delete), positions, st.integers(1, 3)),
    st.builds(functools.partial, st.just(replace), pieces, positions),
    st.builds(functools.partial, st.just(percent_encode), positions, st.booleans()),
    st.builds(functools.partial, st.just(percent_decode), st.integers(0, 20)),
    st.builds(
        functools.partial,
        st.just(change_case),
        positions,
        st.integers(1, 8),
        st.sampled_from(["lower", "upper", "swapcase"]),
    ),
    st.builds(functools.partial, st.just(other_digit), st.integers(0, 60), st.integers(0, 5), st.booleans()),
    st.builds(functools.partial, st.just(reorder), st.permutations(range(10))),
    st.builds(functools.partial, st.just(repeat_pair), st.integers(0, 9)),
)  # fmt: skip


def respell_base64(how: str, at: int, token: str) -> str:
    """The same or nearly the same bytes in another base64 spelling."""
    body = token.removeprefix(TOKEN_PREFIX)
    if how == "pad_bits" and body.endswith("="):
        stem = body.rstrip("=")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        stem = stem[:-1] + alphabet[(alphabet.index(stem[-1]) + 1) % 64]
        body = stem + body[len(stem) :]
    elif how == "no_padding":
        body = body.rstrip("=")
    elif how == "url_safe":
        body = body.replace("+", "-").replace("/", "_")
    elif how in ("\n", " ", "\t", "="):
        body = insert(how, at, body)
    elif how == "double_prefix":
        body = TOKEN_PREFIX + body
    return TOKEN_PREFIX + body


token_edits = st.builds(
    functools.partial,
    st.just(respell_base64),
    st.sampled_from(["pad_bits", "no_padding", "url_safe", "\n", " ", "\t", "=", "double_prefix"]),
    positions,
)
