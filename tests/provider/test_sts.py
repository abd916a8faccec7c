"""Role and web-identity credentials through a fake STS on loopback (botocore speaks real HTTP to it)."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import litellm
import pytest
import respx
from provider.sts_support import ROLE, FakeSTS, fake_sts
from provider_support import EP_URL, MESSAGES, completion_json
from security.security_support import leaks, needles

from litellm_sagemaker_openai._send import TOKENS


@pytest.fixture
def sts() -> Iterator[str]:
    with fake_sts() as url:
        yield url


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


PROFILE = f"""[profile smo-role]
role_arn = {ROLE}
source_profile = smo-base
external_id = ext-profile-EXAMPLE-42
[profile smo-base]
aws_access_key_id = AKIABASEKEYEXAMPLE01
aws_secret_access_key = base-secret-EXAMPLE-0123456789
"""


@pytest.fixture
def role_profile(sts: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An AWS config whose profile assumes ROLE (with an external id) through the fake STS."""
    config = tmp_path / "config"
    config.write_text(PROFILE)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts)
    return config


def test_role_from_a_profile_sends_its_external_id(role_profile: Any) -> None:
    role_profile.write_text(PROFILE.replace("external_id", "region = us-east-1\nexternal_id"))
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES,
                           aws_region_name="us-east-1", aws_profile_name="smo-role")  # fmt: skip
    assert _token_query(route)["X-Amz-Credential"][0].startswith("ASIASTSROLEEXAMPLE01/")
    assert FakeSTS.calls[0]["ExternalId"] == "ext-profile-EXAMPLE-42"


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_role_profile_without_a_region_is_a_credentials_error_that_says_so(
    role_profile: Any, sync: bool
) -> None:
    # botocore needs a region for STS; the profile has none. The failure comes when the role
    # is first assumed, deep in botocore: it must still arrive typed, with the fix.
    args = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "num_retries": 0,
            "aws_region_name": "us-east-1", "aws_profile_name": "smo-role"}  # fmt: skip
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        with pytest.raises(litellm.AuthenticationError) as info:
            if sync:
                litellm.completion(**args)
            else:
                asyncio.run(litellm.acompletion(**args))
    assert route.call_count == 0
    assert "NoRegionError" in str(info.value) and "region" in str(info.value)


def test_forked_child_gets_fresh_client_pools() -> None:
    from litellm_sagemaker_openai import _clients

    parent = _clients.sync_client()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's sockets
        ok = not _clients._sync and _clients.sync_client() is not parent
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.waitpid(pid, 0)
    assert result == b"1"
    assert _clients.sync_client() is parent


BASE_SECRET = "base-secret-EXAMPLE-0123456789"
BASE_SESSION = "IQoJb3JpZ2luX2VjEBaseSessionCanary/AbC+dEf/0123456789ghIJkl=="


@pytest.mark.parametrize("source", ["params", "environment"])
def test_role_assumption_with_a_base_session_token_logs_no_secret_at_debug(
    sts: str, source: str, debug_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # botocore signs the AssumeRole request with the base keys: botocore.auth logs the canonical
    # request (x-amz-security-token on its own line) and the signature, and botocore.endpoint
    # the prepared request (Authorization header, session token as bytes). From the environment
    # the base session token was never a parameter, so only the patterns can mask it.
    base = {"AWS_ACCESS_KEY_ID": "ASIABASEKEYEXAMPLE01", "AWS_SECRET_ACCESS_KEY": BASE_SECRET,
            "AWS_SESSION_TOKEN": BASE_SESSION}  # fmt: skip
    args: dict[str, Any] = {"model": "sagemaker_openai/ep", "messages": MESSAGES,
                            "aws_region_name": "us-east-1", "aws_role_name": ROLE,
                            "aws_sts_endpoint": sts}  # fmt: skip
    if source == "params":
        args |= {name.lower(): value for name, value in base.items()}
    else:
        for name, value in base.items():
            monkeypatch.setenv(name, value)
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        litellm.completion(**args)
        asyncio.run(litellm.acompletion(**args, stream=True))
    out, err = capfd.readouterr()
    (call,) = FakeSTS.calls
    assert call["_security_token"] == BASE_SESSION  # the base credentials carried it
    signature = call["_authorization"].rpartition("Signature=")[2]
    records = debug_logs.records
    names = {record.name for record in records}
    # botocore really logged the signing and the exchange, and LiteLLM its debug lines.
    assert {"botocore.auth", "botocore.endpoint", "botocore.parsers"} <= names, names
    assert any(name.startswith("LiteLLM") for name in names), names
    tokens = {c.request.headers["authorization"].removeprefix("Bearer ") for c in route.calls}
    secrets = {"base secret key": BASE_SECRET, "base session token": BASE_SESSION,
               "STS signature": signature, "temporary secret key": "sts-secret-key-EXAMPLE",
               "temporary session token": "sts-session-token-EXAMPLE"}  # fmt: skip
    channels = {
        "log records": [r.getMessage() for r in records] + [debug_logs.text],
        "stdout/stderr": [out, err],
    }
    assert len(signature) == 64 and tokens
    hits = leaks(channels, needles(tokens, secrets))
    assert not hits, "\n".join(hits)
