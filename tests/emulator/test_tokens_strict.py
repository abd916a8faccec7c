"""The verifier is strict and total: it accepts only what botocore's signer writes, refuses the rest.

Each row is a case found by fuzzing the verifier against botocore (issue 19): tokens that made it
answer 500 (an exception escaped), and tokens it accepted although a strict SigV4 verifier
refuses them. ``resign`` plays a forger who knows the secret and signs the edited URL over its
query exactly as written, which is what a lenient verifier recomputes: those rows are refused
for their form, not for their signature.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from emulator.emulator_support import (
    CREDS,
    NOW,
    OTHER,
    botocore_token,
    decode,
    encode,
    mint,
    resign,
    stub_container,
)

from conformance._emulator import (
    EmulatorConfig,
    TestCredentials,
    TokenRejected,
    create_emulator_app,
    verify_token,
)
from conformance._emulator._harness import serve_app
from conformance._emulator._sigv4 import verify_sigv4
from conformance._emulator._tokens import RULES

PREFIX = "sagemaker-api-key-"
TOKEN = mint(at=NOW)
URL = decode(TOKEN)
KEY = CREDS.access_key_id
CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
INVOKE = "/endpoints/demo-endpoint/invocations"
NON_ASCII_KEY = TestCredentials("AKIAEMULATORTESTÉ001", CREDS.secret_access_key)


def put(pattern: str, replacement: str, url: str = URL) -> str:
    """``url`` with one regex edit (which must apply)."""
    edited, count = re.subn(pattern, replacement, url, count=1)
    assert count, f"{pattern!r} not found"
    return edited


def insert(at: int, text: str, url: str = URL) -> str:
    return url[:at] + text + url[at:]


def other_base64(token: str) -> str:
    """The same bytes in non-canonical base64: different unused bits before the padding."""
    body = token.removeprefix(PREFIX)
    assert body.endswith("="), "the test needs a token whose base64 has padding"
    stem = body.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(stem[-1])
    forged = stem[:-1] + alphabet[last + 1] + body[len(stem) :]
    assert base64.b64decode(forged) == base64.b64decode(body)
    return PREFIX + forged


def padded_token() -> str:
    for expires in range(3600, 3603):
        token = mint(at=NOW, expires=expires)
        if token.endswith("="):
            return token
    raise AssertionError("no padded token")


AT_QUERY = URL.index("?") + 1
AT_VALUE = URL.index("X-Amz-Credential=") + len("X-Amz-Credential=") + 4
AT_SIGNATURE = URL.index("&X-Amz-Signature=")
SIGNATURE = URL[AT_SIGNATURE:].removesuffix("&Version=1")
REORDERED = put(
    r"\?Action=CallWithBearerToken&(X-Amz-Algorithm=[^&]+)&", r"?\1&Action=CallWithBearerToken&"
)
EXPIRES = r"X-Amz-Expires=\d+"
DATE = r"X-Amz-Date=(\d{8})T(\d{6})Z"

# (id, token, rule): the rule the strict verifier must name.
ROWS: list[tuple[str, str, str]] = [
    # Answered 500 before: an exception escaped the verifier.
    ("access_key_non_ascii", encode(URL.replace(KEY, "AKIAEMULATORTESTÉ001")), "malformed"),
    ("access_key_non_ascii_encoded", encode(resign(URL.replace(KEY, "AKIAEMULATORTEST%C3%89001"))), "unknown_key"),
    ("bracket_before_host", encode("[" + URL), "malformed"),
    ("bracket_in_host", encode(put(r"\.com/", ".com]/")), "malformed"),
    ("bracket_in_path", encode(put(r"\.com/", ".com/[")), "malformed"),
    ("bracket_in_value", encode(resign(put(r"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=ho[st"))), "malformed"),
    ("expires_superscript_two", encode(put(EXPIRES, "X-Amz-Expires=²")), "malformed"),
    ("expires_superscript_two_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=%C2%B2"))), "malformed"),
    ("token_non_ascii", PREFIX + "é" + TOKEN.removeprefix(PREFIX), "malformed"),
    ("expires_thousands_of_digits", encode(resign(put(EXPIRES, "X-Amz-Expires=" + "9" * 5000))), "malformed"),
    # Accepted before: a strict SigV4 verifier refuses them.
    *[
        (f"control_{name}_{where}", encode(insert(at, char)), "malformed")
        for name, char in (("tab", "\t"), ("cr", "\r"), ("lf", "\n"), ("nul", "\x00"), ("space", " "), ("del", "\x7f"), ("vt", "\x0b"), ("nbsp", "\xa0"))
        for where, at in (("host", 3), ("query", AT_QUERY), ("value", AT_VALUE), ("signature", AT_SIGNATURE + 20), ("version", len(URL) - 2))
    ],
    ("control_after_version", encode(URL + "\n"), "malformed"),
    ("expires_arabic_indic_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=\u0663\u0666\u0660\u0660"))), "malformed"),
    ("expires_arabic_indic_encoded_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=%D9%A3%D9%A6%D9%A0%D9%A0"))), "malformed"),
    ("expires_fullwidth_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=%EF%BC%93%EF%BC%96%EF%BC%90%EF%BC%90"))), "malformed"),
    ("expires_leading_zero_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=03600"))), "malformed"),
    ("expires_plus_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=%2B3600"))), "malformed"),
    ("date_15_characters_signed", encode(resign(put(DATE, r"X-Amz-Date=\1T08000Z"))), "malformed"),
    ("date_17_characters_signed", encode(resign(put(DATE, r"X-Amz-Date=\1T\g<2>0Z"))), "malformed"),
    ("date_lower_case_signed", encode(resign(put(DATE, r"X-Amz-Date=\1t\2z"))), "malformed"),
    ("date_arabic_indic_signed", encode(resign(put(DATE, "X-Amz-Date=\\1T\u0660\u06680000Z"))), "malformed"),
    ("date_hour_25_signed", encode(resign(put(DATE, r"X-Amz-Date=\1T250000Z"))), "malformed"),
    ("slash_not_encoded_signed", encode(resign(URL.replace("%2F", "/"))), "malformed"),
    ("slash_lower_case_hex_signed", encode(resign(URL.replace("%2F", "%2f"))), "malformed"),
    ("hyphen_encoded_signed", encode(resign(URL.replace("us-east-1", "us%2Deast%2D1"))), "malformed"),
    ("key_encoded_signed", encode(resign(URL.replace("X-Amz-Date=", "X-Amz%2DDate="))), "malformed"),
    ("percent_bad_hex_signed", encode(resign(put(EXPIRES, "X-Amz-Expires=%ZZ3600"))), "malformed"),
    ("percent_not_utf8_signed", encode(resign(put(r"%2Faws4_request", "%2Faws4_request%FF"))), "malformed"),
    ("keys_reordered", encode(REORDERED), "malformed"),
    ("signature_first", encode(URL.replace("?Action=", "?" + SIGNATURE[1:] + "&Action=").replace(SIGNATURE + "&", "&")), "malformed"),
    ("empty_pair", encode(URL.replace("&X-Amz-Date", "&&X-Amz-Date")), "malformed"),
    ("pair_without_equals", encode(resign(URL.replace("&X-Amz-Date", "&Flag&X-Amz-Date"))), "malformed"),
    ("base64_not_canonical", other_base64(padded_token()), "malformed"),
    ("scheme_inside", encode("https://" + URL), "malformed"),
    ("user_info", encode("user@" + URL), "malformed"),
    ("host_upper_case_signed", encode(resign(URL.replace("sagemaker.amazonaws.com", "SAGEMAKER.AMAZONAWS.COM"))), "host"),
]  # fmt: skip


def refusal(token: str, credentials: tuple[TestCredentials, ...] = (CREDS, OTHER)) -> str:
    with pytest.raises(TokenRejected) as caught:
        verify_token(token, region="us-east-1", credentials=credentials, now=NOW)
    return caught.value.rule


@pytest.mark.parametrize(("token", "rule"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_each_case_is_refused_by_name(token: str, rule: str) -> None:
    assert refusal(token) == rule


@pytest.mark.parametrize("session_token", [None, "", "FwoGZXIvYXdzE+/=abc", "süß token ~._-"])
def test_botocore_tokens_are_accepted_byte_for_byte(session_token: str | None) -> None:
    token = botocore_token(session_token=session_token)
    verdict = verify_token(token, region="us-east-1", credentials=(CREDS,), now=NOW)
    assert (verdict.access_key_id, verdict.signed_at) == (KEY, NOW)
    if session_token is None:
        assert token == TOKEN  # the provider's minter and botocore write the same bytes


def test_a_non_ascii_access_key_is_compared_not_crashed_on() -> None:
    token = botocore_token(creds=NON_ASCII_KEY)
    assert refusal(token) == "unknown_key"
    verdict = verify_token(token, region="us-east-1", credentials=(NON_ASCII_KEY,), now=NOW)
    assert verdict.access_key_id == NON_ASCII_KEY.access_key_id


def test_the_lenient_signer_is_a_real_forger() -> None:
    """``resign`` of an unedited URL gives back the minted token: its signatures are genuine."""
    assert encode(resign(URL)) == TOKEN


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    with serve_app(stub_container("stub")) as url:
        yield url


async def post(
    stub_url: str, headers: dict[str, bytes], path: str = CHAT, body: bytes = b'{"tag": true}'
) -> httpx.Response:
    config = EmulatorConfig(
        credentials=(CREDS,), endpoints={"demo-endpoint": stub_url}, clock=lambda: NOW
    )
    transport = httpx.ASGITransport(app=create_emulator_app(config), raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", timeout=10
    ) as client:
        return await client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(("token", "rule"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_each_case_over_http_is_a_refusal_never_a_500(stub_url: str, token: str, rule: str) -> None:
    # Header bytes: a non-ASCII token travels as UTF-8 and arrives decoded as Latin-1.
    response = asyncio.run(post(stub_url, {"Authorization": b"Bearer " + token.encode()}))
    assert response.status_code == RULES[rule][0], response.text
    assert response.headers["x-amzn-errortype"] == RULES[rule][1]
    assert "tag" not in response.text


def sigv4_headers(signed_host: str = "emulator", **changes: bytes) -> dict[str, bytes]:
    """Headers of an InvokeEndpoint call botocore signed at NOW, with some values replaced."""
    request = AWSRequest(
        method="POST",
        url=f"http://{signed_host}{INVOKE}",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    pinned = datetime.fromtimestamp(NOW, timezone.utc).replace(tzinfo=None)
    frozen = ReadOnlyCredentials(CREDS.access_key_id, CREDS.secret_access_key, None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=pinned):
        SigV4Auth(frozen, "sagemaker", "us-east-1").add_auth(request)
    headers = {"host": signed_host.encode()}
    headers.update({name.lower(): value.encode() for name, value in request.headers.items()})
    return {**headers, **{name.replace("_", "-"): value for name, value in changes.items()}}


SIGNED_AUTHORIZATION = sigv4_headers()["authorization"]
# (id, header changes, rule) for header-signed calls; each answered 500 or was read leniently.
SIGV4_ROWS: list[tuple[str, dict[str, bytes], str]] = [
    ("access_key_non_ascii", {"authorization": SIGNED_AUTHORIZATION.replace(KEY.encode(), "AKIAEMULATORTESTÉ001".encode())}, "malformed"),
    ("date_15_characters", {"x_amz_date": b"20270115T08000Z"}, "malformed"),
    ("date_superscript", {"x_amz_date": "2027011²T080000Z".encode()}, "malformed"),
    ("host_bracket", {"host": b"[emulator"}, "malformed"),
    ("host_user_info", {"host": b"user@emulator"}, "malformed"),
    ("authorization_tab", {"authorization": SIGNED_AUTHORIZATION.replace(b", ", b",\t")}, "malformed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "rule"), [r[1:] for r in SIGV4_ROWS], ids=[r[0] for r in SIGV4_ROWS]
)
def test_a_header_signature_case_is_a_refusal_never_a_500(
    stub_url: str, changes: dict[str, bytes], rule: str
) -> None:
    response = asyncio.run(post(stub_url, sigv4_headers(**changes), path=INVOKE, body=b"{}"))
    assert response.status_code == RULES[rule][0], response.text
    assert f"(rule: {rule})" in response.json()["message"]
    assert "tag" not in response.text


def test_the_signed_invocation_itself_is_forwarded(stub_url: str) -> None:
    response = asyncio.run(post(stub_url, sigv4_headers(), path=INVOKE, body=b"{}"))
    assert response.status_code == 200, response.text
    assert response.json()["tag"] == "stub"


def verify_signed(path: str = INVOKE, host: str = "emulator") -> None:
    verify_sigv4(
        method="POST",
        raw_path=path,
        query_string="",
        headers={k: v.decode("latin-1") for k, v in sigv4_headers(host).items()},
        body=b"{}",
        region="us-east-1",
        credentials=(CREDS,),
        now=NOW,
    )


@pytest.mark.parametrize("path", ["@/endpoints/demo-endpoint/invocations", "[/x", "/a#b", "/a\tb"])
def test_a_header_signed_path_must_be_a_plain_path(path: str) -> None:
    with pytest.raises(TokenRejected, match="rule: malformed"):
        verify_signed(path)


@pytest.mark.parametrize("host", ["sagemaker_emulator:8080", "[::1]:8080", "127.0.0.1", "a.b-c"])
def test_every_kind_of_host_a_client_signs_for_is_accepted(host: str) -> None:
    verify_signed(host=host)
