"""The emulator's token verifier against botocore's own signer (issue 19 §1).

Tokens are minted by botocore's ``SigV4QueryAuth.add_auth``, then mutated: bytes inserted,
deleted or replaced, characters percent-encoded or decoded, hex and letter case changed, keys
reordered or repeated, ASCII digits swapped for other scripts' digits, whitespace and control
characters, base64 re-spelt. Half of the mutants are then re-signed by a forger who knows the
secret and signs the query as written (``resign``), so that a lenient verifier's signature check
passes and only its strictness can refuse them.

The property: ``verify_token`` either refuses with a known rule (401/403, never another
exception) or accepts a token that is byte for byte the one botocore writes for the parameters
the verdict proved. A mutant that happens to be canonical (a re-signed token for another
second, expiry or session token) is accepted; no other one is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from unittest import mock
from urllib.parse import unquote

import pytest
from emulator.emulator_support import CREDS, NOW, OTHER, botocore_token, decode, encode, resign
from fuzz.fuzz_support import fuzz
from fuzz.mutations import Edit, insert, reorder, token_edits, url_edits
from hypothesis import event, given
from hypothesis import strategies as st

from conformance._emulator import TestCredentials, TokenRejected, Verdict, verify_token
from conformance._emulator._tokens import RULES

REGION = "us-east-1"
TRUSTED = (CREDS, OTHER)


@dataclass(frozen=True)
class Minted:
    creds: TestCredentials
    at: float
    expires: int
    session_token: str | None

    @functools.cached_property
    def token(self) -> str:
        return botocore_token(self.creds, self.at, self.expires, self.session_token, REGION)


# Every draw is valid at NOW: signed at most 250 s ahead (skew 300) and expiring after NOW.
minted = st.builds(
    Minted,
    st.sampled_from(TRUSTED),
    st.integers(-3000, 250).map(lambda offset: NOW + offset),
    st.one_of(st.sampled_from([3600, 43200]), st.integers(3600, 43200)),
    st.none()
    | st.sampled_from(["", "FwoGZXIvYXdzEJr//////////wEaDH+token=="])
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=12),
)


def forge(url: str, creds: TestCredentials) -> str:
    """The forger's re-signature, when the mutant still names a date and a scope."""
    try:
        return resign(url, creds)
    except Exception:  # the forger's tool failed, not the code under test
        return url


def session_token_of(url: str) -> str | None:
    """The session token a lenient reader sees (only consulted for an accepted token)."""
    query = url.removesuffix("&Version=1").partition("?")[2]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == "X-Amz-Security-Token":
            return unquote(value)
    return None


def botocore_writes(verdict: Verdict, session_token: str | None) -> str:
    """What botocore signs for the parameters an accepted token proved."""
    creds = next(c for c in TRUSTED if c.access_key_id == verdict.access_key_id)
    expires = round(verdict.expires_at - verdict.signed_at)
    return botocore_token(creds, verdict.signed_at, expires, session_token, verdict.region)


def judge(token: str) -> str:
    """``refused:<rule>`` or ``accepted``; fails the test on anything else."""
    try:
        verdict = verify_token(token, region=REGION, credentials=TRUSTED, now=NOW)
    except TokenRejected as exc:
        assert exc.rule in RULES and exc.status in (401, 403), exc.rule
        return f"refused:{exc.rule}"
    expected = botocore_writes(verdict, session_token_of(decode(token)))
    assert token == expected, "accepted a token botocore does not write for these parameters"
    return "accepted"


@fuzz(0.25)  # each example mints with botocore: ~2.5 ms
@given(minted)
def test_every_token_botocore_writes_is_accepted(minted: Minted) -> None:
    assert judge(minted.token) == "accepted"


@fuzz()
@given(
    minted,
    st.lists(url_edits, min_size=1, max_size=3),
    st.lists(token_edits, max_size=1),
    st.booleans(),
)
def test_a_mutant_is_accepted_only_if_botocore_writes_it(
    minted: Minted, edits: list[Edit], respell: list[Edit], resigned: bool
) -> None:
    url = decode(minted.token)
    for edit in edits:
        url = edit(url)
    if resigned:
        url = forge(url, minted.creds)
    token = encode(url)
    for edit in respell:
        token = edit(token)
    outcome = judge(token)
    same = "unchanged" if token == minted.token else "changed"
    event(f"{outcome} ({same}{', re-signed' if resigned else ''})")


@pytest.mark.parametrize(
    "edit", [functools.partial(insert, "\t", 5), functools.partial(reorder, [1, 0])]
)
def test_the_oracle_fails_a_verifier_that_accepts_another_spelling(edit: Edit) -> None:
    """Not vacuous: a verifier that accepts a tab (urlsplit drops it) or a swapped pair fails."""
    token = encode(edit(decode(botocore_token())))
    assert judge(token) == "refused:malformed"
    lenient = Verdict(CREDS.access_key_id, REGION, NOW, NOW + 3600)
    with (
        mock.patch(f"{__name__}.verify_token", return_value=lenient),
        pytest.raises(AssertionError, match="botocore does not write"),
    ):
        judge(token)
    with mock.patch(f"{__name__}.verify_token", return_value=lenient):
        assert judge(botocore_token()) == "accepted"
