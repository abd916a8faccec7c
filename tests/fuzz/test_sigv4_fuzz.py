"""The emulator's header-signature verifier (classic InvokeEndpoint) is total and strict.

A request signed by botocore's ``SigV4Auth.add_auth`` has one of its parts mutated (the
Authorization, X-Amz-Date or Host header, the raw path or query). ``verify_sigv4`` must refuse
with a known rule, never raise anything else; and when it accepts, the path, query, Host and
date are the signed ones, byte for byte, and so are the Authorization's three fields (only the
whitespace between them may differ, as SigV4 parsers allow).
"""

from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from emulator.emulator_support import CREDS, NOW
from fuzz.fuzz_support import fuzz
from fuzz.mutations import Edit, url_edits
from hypothesis import event, given
from hypothesis import strategies as st

from conformance._emulator import TokenRejected
from conformance._emulator._sigv4 import parse_authorization, verify_sigv4
from conformance._emulator._tokens import RULES

HOST = "127.0.0.1:8080"
PATH = "/endpoints/demo-endpoint/invocations"
QUERY = "a=1&b=%2F"
BODY = b'{"messages":[]}'


def signed_headers() -> dict[str, str]:
    """Headers of a request botocore signed at NOW, lower-case names, as the emulator sees them."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{PATH}?{QUERY}",
        data=BODY,
        headers={"Content-Type": "application/json"},
    )
    pinned = datetime.fromtimestamp(NOW, timezone.utc).replace(tzinfo=None)
    creds = ReadOnlyCredentials(CREDS.access_key_id, CREDS.secret_access_key, None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=pinned):
        SigV4Auth(creds, "sagemaker", "us-east-1").add_auth(request)
    return {"host": HOST, **{name.lower(): value for name, value in request.headers.items()}}


SIGNED = signed_headers()
PARTS = ("authorization", "x-amz-date", "host", "path", "query")


def verify(headers: dict[str, str], path: str, query: str) -> None:
    verify_sigv4(
        method="POST",
        raw_path=path,
        query_string=query,
        headers=headers,
        body=BODY,
        region="us-east-1",
        credentials=(CREDS,),
        now=NOW,
    )


def test_the_signed_request_verifies() -> None:
    verify(SIGNED, PATH, QUERY)


@fuzz(0.5)
@given(st.sampled_from(PARTS), st.lists(url_edits, min_size=1, max_size=3))
def test_a_mutated_request_is_refused_by_rule_or_is_the_signed_one(
    part: str, edits: list[Edit]
) -> None:
    headers, path, query = dict(SIGNED), PATH, QUERY
    value = {"path": path, "query": query}.get(part) or headers[part]
    for edit in edits:
        value = edit(value)
    # What a server hands over: header bytes decoded as Latin-1, never UTF-8.
    value = value.encode("utf-8", "surrogatepass").decode("latin-1")
    if part == "path":
        path = value
    elif part == "query":
        query = value
    else:
        headers[part] = value
    try:
        verify(headers, path, query)
    except TokenRejected as exc:
        assert exc.rule in RULES and exc.status in (401, 403)
        event(f"refused:{exc.rule}")
        return
    event("accepted")
    assert (path, query, headers["host"], headers["x-amz-date"]) == (
        PATH,
        QUERY,
        HOST,
        SIGNED["x-amz-date"],
    )
    assert parse_authorization(headers["authorization"]) == parse_authorization(
        SIGNED["authorization"]
    )
