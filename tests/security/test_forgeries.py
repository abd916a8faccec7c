"""The emulator refuses every forgery, over HTTP too.

tests/emulator/test_tokens.py holds the table with one row per token rule (and proves every
rule has a row). This module adds rows for the parts of the ``malformed`` and ``signature``
rules that table does not reach, then sends every row of both tables through the emulator
app and checks the status, ``x-amzn-ErrorType``, the rule, and that no forgery reaches the
container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from emulator.emulator_support import CREDS, NOW, OTHER, mint, stub_container
from emulator.test_tokens import ROWS, decode, edit, encode

from conformance._emulator import EmulatorConfig, TokenRejected, create_emulator_app, verify_token
from conformance._emulator._harness import serve_app
from conformance._emulator._tokens import RULES

CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
PREFIX = "sagemaker-api-key-"
TOKEN = mint(at=NOW)
DAY = decode(TOKEN).split("X-Amz-Date=")[1][:8]


def spaced(token: str) -> str:
    """Base64 with a newline inside: lenient decoders would accept it."""
    body = token.removeprefix(PREFIX)
    return PREFIX + body[:40] + "\n" + body[40:]


def upper_signature(token: str) -> str:
    """The same signature in upper-case hex: a case-insensitive comparison would accept it."""
    head, signature = decode(token).split("X-Amz-Signature=")
    hex_part, _, rest = signature.partition("&")
    return encode(f"{head}X-Amz-Signature={hex_part.upper()}&{rest}")


# (id, token, now, expected rule)
EXTRA: list[tuple[str, str | None, float, str | None]] = [
    ("prefix_case", "SageMaker-API-Key-" + TOKEN.removeprefix(PREFIX), NOW, "prefix"),
    ("malformed_double_prefix", PREFIX + TOKEN, NOW, "malformed"),
    ("malformed_newline_in_base64", spaced(TOKEN), NOW, "malformed"),
    ("malformed_algorithm", edit("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1")(TOKEN), NOW, "malformed"),
    ("malformed_signed_headers", edit("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-amz-date")(TOKEN), NOW, "malformed"),
    ("malformed_scope_date", edit(f"%2F{DAY}%2F", "%2F20200101%2F")(TOKEN), NOW, "malformed"),
    ("malformed_expires_zero", edit(r"X-Amz-Expires=\d+", "X-Amz-Expires=0")(TOKEN), NOW, "malformed"),
    ("malformed_fragment", edit("&Version=1$", "#frag&Version=1")(TOKEN), NOW, "malformed"),
    ("malformed_no_credential", edit(r"X-Amz-Credential=[^&]+&", "")(TOKEN), NOW, "malformed"),
    ("action_case", edit("Action=CallWithBearerToken", "Action=callwithbearertoken")(TOKEN), NOW, "action"),
    ("region_case", edit("%2Fus-east-1%2F", "%2FUS-EAST-1%2F")(TOKEN), NOW, "region"),
    ("unknown_key_case", edit(CREDS.access_key_id, CREDS.access_key_id.lower())(TOKEN), NOW, "unknown_key"),
    ("signature_session_token_added", edit("&X-Amz-Signature=", "&X-Amz-Security-Token=forged&X-Amz-Signature=")(TOKEN), NOW, "signature"),
    ("signature_extra_param", edit("&Version=1$", "&Foo=bar&Version=1")(TOKEN), NOW, "signature"),
    ("signature_other_path", edit(r"^sagemaker\.amazonaws\.com/", "sagemaker.amazonaws.com/admin")(TOKEN), NOW, "signature"),
    ("signature_other_key_same_secret", mint(type(CREDS)(OTHER.access_key_id, CREDS.secret_access_key), at=NOW), NOW, "signature"),
    ("signature_truncated", edit(r"(X-Amz-Signature=[0-9a-f]{56})[0-9a-f]{8}", r"\1")(TOKEN), NOW, "signature"),
    ("signature_uppercase_hex", upper_signature(TOKEN), NOW, "signature"),
]  # fmt: skip
# A newline cannot travel in an HTTP header: that row is checked by verify_token only.
OVER_HTTP = [row for row in ROWS + EXTRA if not (row[1] and "\n" in row[1])]


@pytest.mark.parametrize(
    ("token", "now", "rule"), [r[1:] for r in EXTRA], ids=[r[0] for r in EXTRA]
)
def test_each_extra_forgery_breaks_the_named_rule(token: str | None, now: float, rule: str) -> None:
    with pytest.raises(TokenRejected) as caught:
        verify_token(token, region="us-east-1", credentials=(CREDS, OTHER), now=now)
    assert caught.value.rule == rule


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    with serve_app(stub_container("stub")) as url:
        yield url


async def through_the_emulator(stub_url: str, token: str | None, now: float) -> httpx.Response:
    config = EmulatorConfig(
        credentials=(CREDS, OTHER), endpoints={"demo-endpoint": stub_url}, clock=lambda: now
    )
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", timeout=10
    ) as client:
        return await client.post(CHAT, json={"tag": True}, headers=headers)


@pytest.mark.parametrize(
    ("token", "now", "rule"), [r[1:] for r in OVER_HTTP], ids=[r[0] for r in OVER_HTTP]
)
def test_every_row_over_http(
    stub_url: str, token: str | None, now: float, rule: str | None
) -> None:
    response = asyncio.run(through_the_emulator(stub_url, token, now))
    if rule is None:
        assert response.status_code == 200 and response.json() == {"tag": "stub"}
        return
    status, error_type = RULES[rule]
    assert response.status_code == status, response.text
    assert response.headers["x-amzn-errortype"] == error_type
    assert f"(rule: {rule})" in response.json()["message"]
    assert "tag" not in response.text  # the container never saw the request
    if token:
        assert token not in response.text and decode_or_empty(token)[-64:] not in response.text


def decode_or_empty(token: str) -> str:
    try:
        return decode(token)
    except ValueError:
        return "\x00never-in-a-response\x00"


def test_the_extra_rows_reuse_the_shared_encoding() -> None:
    assert decode(encode("x&Version=1")) == "x&Version=1"
    assert {r[3] for r in EXTRA} <= set(RULES)
