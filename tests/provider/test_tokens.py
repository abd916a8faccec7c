"""The token cache: one mint per key, refresh ahead of expiry, drop after 401/403."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import litellm
import pytest
import respx
from botocore.credentials import RefreshableCredentials
from provider_support import CREDS, EP_URL, MESSAGES, completion_json

from litellm_sagemaker_openai import ConfigurationError, CredentialsError, generate_token
from litellm_sagemaker_openai._credentials import credential_spec
from litellm_sagemaker_openai._send import TOKENS
from litellm_sagemaker_openai._tokens import TokenCache

SPEC = credential_spec(CREDS)


def _query(token: str) -> dict[str, list[str]]:
    url = base64.b64decode(token[len("sagemaker-api-key-") :]).decode()
    return parse_qs(urlsplit("https://" + url).query)


def test_a_thousand_calls_mint_once() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json())
        for _ in range(1000):
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS)
    assert TOKENS.mints == 1
    assert len({c.request.headers["authorization"] for c in route.calls}) == 1


def test_threads_mint_once_per_key() -> None:
    cache = TokenCache()
    start = threading.Barrier(16)

    def get(i: int) -> str:
        start.wait()
        return cache.get(SPEC, "us-east-1" if i % 2 else "eu-west-1")

    with ThreadPoolExecutor(16) as pool:
        tokens = list(pool.map(get, range(16)))
    assert cache.mints == 2 and len(set(tokens)) == 2


def test_coroutines_mint_once() -> None:
    cache = TokenCache()

    async def run() -> set[str]:
        return set(await asyncio.gather(*(cache.aget(SPEC, "us-east-1") for _ in range(200))))

    assert len(asyncio.run(run())) == 1 and cache.mints == 1


def test_keys_are_credential_identity_and_region() -> None:
    cache = TokenCache()
    other = credential_spec({**CREDS, "aws_access_key_id": "AKIAOTHEREXAMPLE1"})
    tokens = {
        cache.get(SPEC, "us-east-1"),
        cache.get(other, "us-east-1"),
        cache.get(SPEC, "us-west-2"),
    }
    assert len(tokens) == 3 and cache.mints == 3
    assert "wJalr" not in repr(SPEC) and "wJalr" not in repr(cache)


def test_refresh_ahead_of_token_expiry() -> None:
    now = [1_000_000.0]
    cache = TokenCache(expiry=timedelta(hours=1), clock=lambda: now[0])
    first = cache.get(SPEC, "us-east-1")
    now[0] += 3600 - 301  # just before the 5-minute refresh margin
    assert cache.get(SPEC, "us-east-1") == first
    now[0] += 2
    cache.get(SPEC, "us-east-1")
    assert cache.mints == 2


def test_refresh_ahead_of_credential_expiry_and_no_mixed_key_material() -> None:
    now = [time.time()]  # botocore checks credential expiry against the real clock
    generation = [0]

    def refresh() -> dict[str, str]:
        generation[0] += 1
        expiry = datetime.fromtimestamp(now[0], timezone.utc) + timedelta(hours=1)
        return {"access_key": f"ASIAGEN{generation[0]:010d}", "secret_key": f"secret-{generation[0]}" * 3,
                "token": f"session-{generation[0]}", "expiry_time": expiry.isoformat()}  # fmt: skip

    creds = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    cache = TokenCache(clock=lambda: now[0])
    cache._credentials[SPEC.fingerprint] = creds  # a refreshable provider behind this spec
    first = _query(cache.get(SPEC, "us-east-1"))
    assert first["X-Amz-Credential"][0].startswith("ASIAGEN0000000001/")
    now[0] += 3600 - 200  # 12 h token, but the credentials expire in 1 h: refresh before that
    second = _query(cache.get(SPEC, "us-east-1"))
    assert cache.mints == 2
    key = second["X-Amz-Credential"][0].split("/")[0]
    assert (
        second["X-Amz-Security-Token"][0] == f"session-{key[-1]}"
    )  # key and token from one version


def test_invalidate_only_drops_the_refused_token() -> None:
    cache = TokenCache()
    token = cache.get(SPEC, "us-east-1")
    cache.invalidate(SPEC, "us-east-1", "sagemaker-api-key-other")
    assert cache.peek(SPEC, "us-east-1") == token
    cache.invalidate(SPEC, "us-east-1", token)
    assert cache.peek(SPEC, "us-east-1") is None


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_reminted_and_retried_once(status: int) -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL)
        route.side_effect = [
            respx.MockResponse(status, json={"message": "expired"}),
            respx.MockResponse(200, json=completion_json("after retry")),
        ]
        response = litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS)
    assert response.choices[0].message.content == "after retry"
    assert TOKENS.mints == 2 and route.call_count == 2


def test_second_refusal_is_raised_not_retried_forever() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(403, json={"message": "denied"})
        with pytest.raises(litellm.PermissionDeniedError):
            litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0, **CREDS
            )
    assert route.call_count == 2


def test_pre_minted_token_is_never_refreshed() -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(401, json={"message": "expired"})
        with pytest.raises(litellm.AuthenticationError):
            litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, api_key="sagemaker-api-key-" + "B" * 30,
                               aws_region_name="us-east-1", num_retries=0)  # fmt: skip
    assert route.call_count == 1 and TOKENS.mints == 0


def test_no_credentials_is_a_typed_error_with_a_fix() -> None:
    with respx.mock() as mock, pytest.raises(litellm.AuthenticationError) as info:
        litellm.completion(
            model="sagemaker_openai/ep",
            messages=MESSAGES,
            aws_region_name="us-east-1",
            num_retries=0,
        )
    assert isinstance(info.value, CredentialsError)
    assert "AWS_ACCESS_KEY_ID" in str(info.value)
    assert not mock.calls


def test_generate_token_contents_and_validation() -> None:
    from botocore.credentials import Credentials

    token = generate_token(
        "eu-west-1", Credentials("AKIAEXAMPLE", "s" * 40, "tok"), timedelta(minutes=5)
    )
    query = _query(token)
    assert query["Action"] == ["CallWithBearerToken"] and query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/sagemaker/aws4_request")
    assert query["Version"] == ["1"] and query["X-Amz-Security-Token"] == ["tok"]
    for bad in (timedelta(0), timedelta(hours=12, seconds=1)):
        with pytest.raises(ConfigurationError, match="12 hours"):
            generate_token("eu-west-1", Credentials("a", "b"), bad)


BAD_EXPIRIES = {
    # X-Amz-Expires counts whole seconds: 0.5 s used to mint X-Amz-Expires=0, which the route
    # refuses, and 1.5 s a token of 1 s.
    "half a second": (timedelta(seconds=0.5), "whole number of seconds"),
    "a second and a half": (timedelta(seconds=1.5), "whole number of seconds"),
    "12 hours and a microsecond": (timedelta(hours=12, microseconds=1), "whole number of seconds"),
    "negative": (timedelta(seconds=-1), "between 1 second and 12 hours"),
    "over 12 hours": (timedelta(days=1), "between 1 second and 12 hours"),
    # Not a timedelta at all: these used to raise AttributeError.
    "int seconds": (3600, "got int 3600"),
    "float seconds": (3600.0, "got float"),
    "a string": ("1h", "got str '1h'"),
    "None": (None, "got NoneType"),
}


@pytest.mark.parametrize("case", list(BAD_EXPIRIES))
def test_an_expiry_that_cannot_be_minted_is_a_configuration_error(case: str) -> None:
    expiry, hint = BAD_EXPIRIES[case]
    for mint in (
        lambda: generate_token("eu-west-1", expiry=expiry),  # before any credential lookup
        lambda: TokenCache(expiry=expiry),
    ):
        with pytest.raises(ConfigurationError) as info:
            mint()
        message = str(info.value)
        assert hint in message and "pass e.g. expiry=timedelta(" in message, message
        assert isinstance(info.value, ValueError)  # ConfigurationError is one


@pytest.mark.parametrize(
    ("expiry", "seconds"),
    [(timedelta(seconds=1), "1"), (timedelta(minutes=0.5), "30"), (timedelta(hours=12), "43200")],
)
def test_whole_second_expiries_from_1_second_to_12_hours_are_minted(
    expiry: timedelta, seconds: str
) -> None:
    from botocore.credentials import Credentials

    token = generate_token("eu-west-1", Credentials("AKIAEXAMPLE", "s" * 40), expiry)
    assert _query(token)["X-Amz-Expires"] == [seconds]


def test_generate_token_uses_the_default_chain(aws_env: dict[str, str]) -> None:
    assert _query(generate_token())["X-Amz-Credential"][0].startswith("AKIAIOSFODNN7EXAMPLE/")


def test_profile_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "credentials").write_text(
        "[p1]\naws_access_key_id = AKIAPROFILEEXAMPLE\naws_secret_access_key = abcdefghij\n"
    )
    (tmp_path / "config").write_text("[profile p1]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    url = (
        "https://runtime.sagemaker.ap-south-1.amazonaws.com/endpoints/ep/openai/v1/chat/completions"
    )
    with respx.mock() as mock:
        route = mock.post(url).respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, aws_profile_name="p1")
    token = route.calls.last.request.headers["authorization"].removeprefix("Bearer ")
    assert _query(token)["X-Amz-Credential"][0].startswith("AKIAPROFILEEXAMPLE/")


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_role_that_is_not_an_arn_is_a_configuration_error_on_every_path(sync: bool) -> None:
    kwargs = {**CREDS, "aws_role_name": "just-a-name"}

    async def run() -> None:
        await litellm.acompletion(
            model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0, **kwargs
        )

    with respx.mock() as mock, pytest.raises(litellm.BadRequestError) as info:
        if sync:
            litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0, **kwargs
            )
        else:
            asyncio.run(run())
    assert isinstance(info.value, ConfigurationError) and "role ARN" in str(info.value)
    assert not mock.calls
