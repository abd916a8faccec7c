"""Every bearer-token rule: valid tokens pass, each forgery or expiry is refused by name."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime, timezone
from unittest import mock

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from emulator.emulator_support import CREDS, NOW, OTHER, mint

# Re-exported: tests/security/test_forgeries.py edits tokens with them.
from emulator.emulator_support import decode as decode
from emulator.emulator_support import encode as encode

from conformance._emulator import TestCredentials, TokenRejected, verify_token
from conformance._emulator._tokens import RULES


def edit(pattern: str, replacement: str) -> Callable[[str], str]:
    """Forge a token by editing its decoded URL (which breaks or keeps the signature)."""

    def forge(token: str) -> str:
        url, count = re.subn(pattern, replacement, decode(token))
        assert count, f"{pattern!r} not found in the decoded token"
        return encode(url)

    return forge


def signed(
    service: str = "sagemaker",
    action: str = "CallWithBearerToken",
    host: str = "sagemaker.amazonaws.com",
    path: str = "/",
    **extra: str,
) -> str:
    """A correctly signed token for another request: only the rule can refuse it."""
    frozen = Credentials(CREDS.access_key_id, CREDS.secret_access_key).get_frozen_credentials()
    request = AWSRequest(
        method="POST",
        url=f"https://{host}{path}",
        headers={"host": host},
        params={"Action": action, **extra},
    )
    pinned = datetime.fromtimestamp(NOW, timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=pinned):
        SigV4QueryAuth(frozen, service, "us-east-1", expires=3600).add_auth(request)
    return encode(request.url.replace("https://", "") + "&Version=1")


def flip_signature(token: str) -> str:
    url = decode(token)
    head, sig = url.split("X-Amz-Signature=")
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    return encode(f"{head}X-Amz-Signature={flipped}")


WRONG_SECRET = TestCredentials(CREDS.access_key_id, "not/the/right/secret/key/0123456789abcd")
UNKNOWN = TestCredentials("AKIAUNKNOWNKEY000001", "unknown/secret/key/0123456789abcdefghij")

# (id, token, now, expected rule or None for "accepted")
ROWS: list[tuple[str, str | None, float, str | None]] = [
    ("valid", mint(at=NOW), NOW, None),
    ("valid_second_profile", mint(OTHER, at=NOW), NOW, None),
    ("valid_at_last_second", mint(at=NOW, expires=60), NOW + 60, None),
    ("valid_12h", mint(at=NOW, expires=43200), NOW + 43000, None),
    ("valid_small_future_skew", mint(at=NOW + 200), NOW, None),
    ("missing_none", None, NOW, "missing"),
    ("missing_empty", "", NOW, "missing"),
    ("prefix_openai_key", "sk-proj-abcdef", NOW, "prefix"),
    ("prefix_raw_url", decode(mint(at=NOW)), NOW, "prefix"),
    ("malformed_not_base64", "sagemaker-api-key-!!not base64!!", NOW, "malformed"),
    (
        "malformed_not_utf8",
        "sagemaker-api-key-" + base64.b64encode(b"\xff\xfe").decode(),
        NOW,
        "malformed",
    ),
    ("malformed_not_url", encode("hello world&Version=1"), NOW, "malformed"),
    (
        "malformed_no_signature",
        edit(r"&X-Amz-Signature=[0-9a-f]+", "")(mint(at=NOW)),
        NOW,
        "malformed",
    ),
    (
        "malformed_repeated_param",
        edit(r"\?Action=", "?Action=CallWithBearerToken&Action=")(mint(at=NOW)),
        NOW,
        "malformed",
    ),
    (
        "malformed_expires",
        edit(r"X-Amz-Expires=\d+", "X-Amz-Expires=soon")(mint(at=NOW)),
        NOW,
        "malformed",
    ),
    (
        "malformed_date",
        edit(r"X-Amz-Date=\w+", "X-Amz-Date=yesterday")(mint(at=NOW)),
        NOW,
        "malformed",
    ),
    ("malformed_scope", edit(r"%2Faws4_request", "")(mint(at=NOW)), NOW, "malformed"),
    ("version_missing", edit(r"&Version=1$", "")(mint(at=NOW)), NOW, "version"),
    ("version_2", edit(r"&Version=1$", "&Version=2")(mint(at=NOW)), NOW, "version"),
    ("version_signed_inside", signed(Version="2"), NOW, "version"),
    ("extra_param_signed", signed(Extra="1"), NOW, "malformed"),
    ("host_signed", signed(host="evil.example.com"), NOW, "host"),
    ("host_with_port_signed", signed(host="sagemaker.amazonaws.com:8443"), NOW, "host"),
    ("host_regional_signed", signed(host="runtime.sagemaker.us-east-1.amazonaws.com"), NOW, "host"),
    ("path_signed", signed(path="/endpoints/other"), NOW, "path"),
    ("valid_signed_helper", signed(), NOW, None),
    (
        "action_forged",
        edit(r"Action=CallWithBearerToken", "Action=InvokeEndpoint")(mint(at=NOW)),
        NOW,
        "action",
    ),
    ("action_signed", signed(action="InvokeEndpoint"), NOW, "action"),
    ("service_forged", edit(r"%2Fsagemaker%2F", "%2Fs3%2F")(mint(at=NOW)), NOW, "service"),
    ("service_signed", signed(service="s3"), NOW, "service"),
    ("region_minted_elsewhere", mint(region="us-west-2", at=NOW), NOW, "region"),
    ("region_forged", edit(r"%2Fus-east-1%2F", "%2Feu-west-1%2F")(mint(at=NOW)), NOW, "region"),
    ("unknown_key", mint(UNKNOWN, at=NOW), NOW, "unknown_key"),
    ("signature_flipped", flip_signature(mint(at=NOW)), NOW, "signature"),
    ("signature_wrong_secret", mint(WRONG_SECRET, at=NOW), NOW, "signature"),
    (
        "signature_extended_expiry",
        edit(r"X-Amz-Expires=3600", "X-Amz-Expires=7200")(mint(at=NOW)),
        NOW + 5000,
        "signature",
    ),
    (
        "signature_other_host",
        edit(r"^sagemaker\.amazonaws\.com", "evil.example.com")(mint(at=NOW)),
        NOW,
        "signature",
    ),
    ("expires_too_long", mint(at=NOW, expires=43201), NOW, "expires_too_long"),
    ("expired_by_one_second", mint(at=NOW, expires=60), NOW + 61, "expired"),
    ("expired_long_ago", mint(at=NOW - 86400), NOW, "expired"),
    ("not_yet_valid", mint(at=NOW + 600), NOW, "not_yet_valid"),
]


@pytest.mark.parametrize(
    ("token", "now", "rule"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS]
)
def test_token_rule(token: str | None, now: float, rule: str | None) -> None:
    if rule is None:
        verdict = verify_token(token, region="us-east-1", credentials=(CREDS, OTHER), now=now)
        assert verdict.region == "us-east-1"
        assert verdict.signed_at <= now + 300 and now <= verdict.expires_at
        return
    with pytest.raises(TokenRejected) as caught:
        verify_token(token, region="us-east-1", credentials=(CREDS, OTHER), now=now)
    assert caught.value.rule == rule
    assert caught.value.status == RULES[rule][0]
    assert f"(rule: {rule})" in caught.value.message


def test_every_rule_has_a_row() -> None:
    assert {row[3] for row in ROWS if row[3]} == set(RULES)


def test_statuses_follow_the_documented_mapping() -> None:
    unauthenticated = {"missing", "prefix", "malformed", "version"}
    assert {rule for rule, (status, _) in RULES.items() if status == 401} == unauthenticated
    assert all(status == 403 for rule, (status, _) in RULES.items() if rule not in unauthenticated)


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_refusals_never_echo_secrets(row: tuple[str, str | None, float, str | None]) -> None:
    _, token, now, rule = row
    if rule is None or not token:
        return
    with pytest.raises(TokenRejected) as caught:
        verify_token(token, region="us-east-1", credentials=(CREDS, OTHER), now=now)
    text = str(caught.value) + repr(caught.value)
    assert token not in text
    assert CREDS.secret_access_key not in text
    signature = re.search(r"X-Amz-Signature=([0-9a-f]+)", token and decode_or_empty(token))
    assert signature is None or signature.group(1) not in text


def decode_or_empty(token: str) -> str:
    try:
        return decode(token)
    except Exception:
        return ""


def test_region_is_the_emulators() -> None:
    token = mint(region="eu-central-1", at=NOW)
    verdict = verify_token(token, region="eu-central-1", credentials=(CREDS,), now=NOW)
    assert verdict.region == "eu-central-1"
    with pytest.raises(TokenRejected, match="rule: region"):
        verify_token(token, region="us-east-1", credentials=(CREDS,), now=NOW)


def test_no_credentials_trusts_nobody() -> None:
    with pytest.raises(TokenRejected, match="rule: unknown_key"):
        verify_token(mint(at=NOW), region="us-east-1", credentials=(), now=NOW)


def test_secret_is_hidden_from_repr() -> None:
    assert CREDS.secret_access_key not in repr(CREDS)
    assert CREDS.access_key_id in repr(CREDS)
