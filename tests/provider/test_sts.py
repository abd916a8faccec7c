"""Role and web-identity credentials through a fake STS on loopback (botocore speaks real HTTP to it)."""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import litellm
import pytest
import respx
from provider_support import EP_URL, MESSAGES, completion_json

from litellm_sagemaker_openai._send import TOKENS

ROLE = "arn:aws:iam::123456789012:role/sagemaker-caller"
RESPONSE = """<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>
<Credentials><AccessKeyId>ASIASTSROLEEXAMPLE01</AccessKeyId><SecretAccessKey>sts-secret-key-EXAMPLE</SecretAccessKey>
<SessionToken>sts-session-token-EXAMPLE</SessionToken><Expiration>{expiry}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/sagemaker-caller/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>
</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"""


class FakeSTS(BaseHTTPRequestHandler):
    calls: list[dict[str, str]] = []

    def do_POST(self) -> None:
        form = {
            k: v[0]
            for k, v in parse_qs(
                self.rfile.read(int(self.headers["content-length"])).decode()
            ).items()
        }
        form["_signed"] = str("authorization" in {h.lower() for h in self.headers})
        FakeSTS.calls.append(form)
        expiry = (datetime.now(timezone.utc) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = RESPONSE.format(action=form["Action"], expiry=expiry).encode()
        self.send_response(200)
        self.send_header("content-type", "text/xml")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sts() -> Iterator[str]:
    FakeSTS.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSTS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _token_query(route: respx.Route) -> dict[str, list[str]]:
    token = route.calls.last.request.headers["authorization"].removeprefix(
        "Bearer sagemaker-api-key-"
    )
    return parse_qs(urlsplit("https://" + base64.b64decode(token).decode()).query)


def test_assume_role_with_base_keys(sts: str) -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        for _ in range(3):
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, aws_region_name="us-east-1",
                               aws_access_key_id="AKIABASEKEYEXAMPLE01", aws_secret_access_key="base-secret-EXAMPLE",
                               aws_role_name=ROLE, aws_session_name="my-session", aws_external_id="ext-123",
                               aws_sts_endpoint=sts)  # fmt: skip
    query = _token_query(route)
    assert query["X-Amz-Credential"][0].startswith("ASIASTSROLEEXAMPLE01/")
    assert query["X-Amz-Security-Token"] == ["sts-session-token-EXAMPLE"]
    assert len(FakeSTS.calls) == 1 and TOKENS.mints == 1  # credentials and token cached
    call = FakeSTS.calls[0]
    assert (call["Action"], call["RoleArn"], call["RoleSessionName"], call["ExternalId"]) == (
        "AssumeRole",
        ROLE,
        "my-session",
        "ext-123",
    )
    assert call["_signed"] == "True"


def test_token_refresh_follows_the_role_credentials_expiry(sts: str) -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, aws_region_name="us-east-1",
                           aws_role_name=ROLE, aws_access_key_id="AKIABASEKEYEXAMPLE01",
                           aws_secret_access_key="base-secret-EXAMPLE", aws_sts_endpoint=sts)  # fmt: skip
    (entry,) = TOKENS._entries.values()
    # STS said 30 minutes: refresh 5 minutes before that, not 12 hours after minting.
    assert 24 * 60 < entry.refresh_at - time.time() < 26 * 60


def test_web_identity_token_file(sts: str, tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJ-web-identity-EXAMPLE\n")
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, aws_region_name="us-east-1",
                           aws_role_name=ROLE, aws_web_identity_token=str(token_file), aws_sts_endpoint=sts)  # fmt: skip
    assert _token_query(route)["X-Amz-Credential"][0].startswith("ASIASTSROLEEXAMPLE01/")
    call = FakeSTS.calls[0]
    assert (
        call["Action"] == "AssumeRoleWithWebIdentity"
        and call["WebIdentityToken"] == "eyJ-web-identity-EXAMPLE"
    )
    assert call["_signed"] == "False"


def test_web_identity_token_from_environment_reference(
    sts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_OIDC_TOKEN", "eyJ-from-env-EXAMPLE")
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, aws_region_name="us-east-1",
                           aws_role_name=ROLE, aws_web_identity_token="os.environ/MY_OIDC_TOKEN", aws_sts_endpoint=sts)  # fmt: skip
    assert FakeSTS.calls[0]["WebIdentityToken"] == "eyJ-from-env-EXAMPLE"


def test_role_assumption_at_debug_level_logs_no_sts_secret(
    sts: str, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # botocore logs the STS request (web identity token, external id) and its response (the
    # temporary secret key and session token) at DEBUG, before the plugin ever sees them.
    caplog.set_level(logging.DEBUG)  # the root logger: botocore's records reach it
    token_file = tmp_path / "token"
    token_file.write_text("eyJ-web-identity-EXAMPLE-0123456789\n")
    base = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "aws_region_name": "us-east-1",
            "aws_role_name": ROLE, "aws_sts_endpoint": sts}  # fmt: skip
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(**base, aws_access_key_id="AKIABASEKEYEXAMPLE01",
                           aws_secret_access_key="base-secret-EXAMPLE-0123456789",
                           aws_external_id="ext-id-EXAMPLE-0123456789")  # fmt: skip
        litellm.completion(**base, aws_web_identity_token=str(token_file))
    texts = [record.getMessage() for record in caplog.records] + [caplog.text]
    # botocore really logged both exchanges, bodies included.
    assert any("AssumeRoleWithWebIdentity" in text for text in texts)
    assert any("<AccessKeyId>ASIASTSROLEEXAMPLE01</AccessKeyId>" in text for text in texts)
    for secret in ("sts-secret-key-EXAMPLE", "sts-session-token-EXAMPLE",
                   "eyJ-web-identity-EXAMPLE-0123456789", "ext-id-EXAMPLE-0123456789",
                   "base-secret-EXAMPLE-0123456789"):  # fmt: skip
        leaked = [text[:200] for text in texts if secret in text]
        assert not leaked, (secret, leaked)


def test_forked_child_gets_fresh_client_pools() -> None:
    from litellm_sagemaker_openai import _clients

    parent = _clients.sync_client()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's sockets
        ok = _clients._sync is None and _clients.sync_client() is not parent
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.waitpid(pid, 0)
    assert result == b"1"
    assert _clients.sync_client() is parent
