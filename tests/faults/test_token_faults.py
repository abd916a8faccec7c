"""Token faults through the route emulator: expiry (clock moved), rotation, and refused tokens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.session
import litellm
import pytest
from botocore.credentials import RefreshableCredentials
from faults.faults_calls import (
    MESSAGES,
    SLACK_S,
    STATIC_CREDS,
    TIMEOUT_S,
    FakeClock,
    Outcome,
    assert_failed,
    call,
    recording,
    run_call_async,
    token_fields,
)
from faults.faults_support import async_pool_problems, sync_pool_problems

from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app
from conformance._emulator._harness import serve_app
from conformance._reference import ReferenceConfig
from litellm_sagemaker_openai import _token
from litellm_sagemaker_openai._send import TOKENS

REGION = {"aws_region_name": "us-east-1"}
MODEL = "sagemaker_openai/demo-endpoint"  # served by the reference container
GEN1 = ("AKIAROTATINGGEN00001", "rotating/secret/generation+1", "session-token-generation-1")
GEN2 = ("AKIAROTATINGGEN00002", "rotating/secret/generation+2", "session-token-generation-2")
TWELVE_HOURS = 12 * 3600


@dataclass
class Route:
    """The emulator on a fake clock, with every request's headers recorded, and a hook that can
    refuse a request (by its index and token) the way a gateway in front of the route would."""

    url: str
    clock: FakeClock
    hits: list[dict[str, str]] = field(default_factory=list)
    refuse: Any = None  # (index, token) -> status, or 0 to let it through

    @property
    def tokens(self) -> list[str]:
        return [h.get("authorization", "").removeprefix("Bearer ") for h in self.hits]


@pytest.fixture(scope="module")
def _route() -> Iterator[Route]:
    clock = FakeClock()
    creds = (
        TestCredentials(STATIC_CREDS["aws_access_key_id"], STATIC_CREDS["aws_secret_access_key"]),
        TestCredentials(GEN1[0], GEN1[1]),
        TestCredentials(GEN2[0], GEN2[1]),
    )
    config = EmulatorConfig(credentials=creds, reference=ReferenceConfig(), clock=clock)
    route = Route("", clock)
    app = recording(
        create_emulator_app(config),
        route.hits,
        lambda i, token: route.refuse(i, token) if route.refuse else 0,
    )
    with serve_app(app) as url:
        route.url = url
        yield route


@pytest.fixture
def route(_route: Route, monkeypatch: pytest.MonkeyPatch) -> Route:
    """The route, its clock reset to now and shared by the token cache and the signer."""
    _route.clock.now = time.time()
    _route.hits.clear()
    _route.refuse = None
    monkeypatch.setattr(TOKENS, "_clock", _route.clock)
    monkeypatch.setattr(_token, "_utcnow", lambda: _route.clock.datetime(remove_tzinfo=False))
    return _route


def _call(route: Route, *, sync: bool, stream: bool, **kwargs: Any) -> Outcome:
    params = {**STATIC_CREDS, **kwargs}
    return call(route.url, sync=sync, stream=stream, model=MODEL, **params)


def _assert_answered(out: Outcome, stream: bool, *, alone: bool = True) -> None:
    assert out.error is None, f"{type(out.error).__name__}: {out.error}"
    if alone:  # with concurrent calls the pool is checked once they have all ended
        assert out.pool_problems == []
    if stream:
        assert out.text == "You said: hi" and out.finish_reasons == ["stop"]
    else:
        assert out.message.choices[0].message.content == "You said: hi"


def test_token_expiring_between_calls_is_reminted(route: Route, sync: bool, stream: bool) -> None:
    _assert_answered(_call(route, sync=sync, stream=stream), stream)
    assert TOKENS.mints == 1
    route.clock.advance(TWELVE_HOURS + 1)  # past the token's expiry, for cache, signer and route
    _assert_answered(_call(route, sync=sync, stream=stream), stream)
    assert TOKENS.mints == 2
    old, new = route.tokens
    assert old != new and len(route.hits) == 2  # refreshed ahead: the route refused nothing
    assert token_fields(new)["X-Amz-Date"] == route.clock.datetime().strftime("%Y%m%dT%H%M%SZ")
    # The route does refuse the old token: bypass the cache by passing it as a pre-minted key.
    out = _call(route, sync=sync, stream=stream, api_key=old)
    error = assert_failed(out, litellm.PermissionDeniedError)
    assert "rule: expired" in str(error)
    assert len(route.hits) == 3  # a caller's own token is not retried


def test_clock_jump_unseen_by_the_cache_is_recovered_by_a_remint(
    route: Route, monkeypatch: pytest.MonkeyPatch, sync: bool, stream: bool
) -> None:
    # The cache still thinks its token is fresh, but the route's clock (and the signer's) has
    # jumped 13 h: the route answers 403 (expired), the plugin re-mints once, and succeeds.
    monkeypatch.setattr(TOKENS, "_clock", time.time)
    _assert_answered(_call(route, sync=sync, stream=stream), stream)
    route.clock.advance(TWELVE_HOURS + 3600)
    _assert_answered(_call(route, sync=sync, stream=stream), stream)
    assert TOKENS.mints == 2 and len(route.hits) == 3
    assert route.tokens[1] == route.tokens[0] != route.tokens[2]


def _refusing_first(status: int) -> Any:
    return lambda index, token: status if index == 0 else 0


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_retried_once_with_a_fresh_one(
    route: Route, status: int, sync: bool, stream: bool
) -> None:
    def refuse_first(index: int, token: str) -> int:
        if index:
            return 0
        route.clock.advance(1)  # the refusal takes a second, so the re-mint differs in bytes
        return status

    route.refuse = refuse_first
    _assert_answered(_call(route, sync=sync, stream=stream), stream)
    assert len(route.hits) == 2 and TOKENS.mints == 2
    first, retry = route.tokens
    assert first != retry and token_fields(retry)["KeyId"] == STATIC_CREDS["aws_access_key_id"]


def test_token_refused_twice_is_an_authentication_error(
    route: Route, sync: bool, stream: bool
) -> None:
    route.refuse = lambda index, token: 401
    error = assert_failed(_call(route, sync=sync, stream=stream), litellm.AuthenticationError)
    assert "refused the bearer token" in str(error)
    assert len(route.hits) == 2  # one retry, not a loop


def test_pre_minted_token_refused_is_not_retried(route: Route, sync: bool, stream: bool) -> None:
    from litellm_sagemaker_openai import generate_token

    token = generate_token("us-east-1", _static())
    route.refuse = _refusing_first(401)
    assert_failed(
        _call(route, sync=sync, stream=stream, api_key=token), litellm.AuthenticationError
    )
    assert len(route.hits) == 1 and TOKENS.mints == 0


def _static() -> Any:
    from botocore.credentials import Credentials

    return Credentials(STATIC_CREDS["aws_access_key_id"], STATIC_CREDS["aws_secret_access_key"])


# --- rotation -----------------------------------------------------------------------------------


class Rotating:
    """A refreshable provider: generation 1 for an hour, then generation 2 (botocore refreshes
    10 minutes before expiry), on the test's clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.refreshes = clock, 0
        start = clock.datetime(remove_tzinfo=False)
        self.credentials = RefreshableCredentials(
            *GEN1,
            expiry_time=start + timedelta(hours=1),
            refresh_using=self._refresh,
            method="test-rotation",
            time_fetcher=lambda: clock.datetime(remove_tzinfo=False),
        )

    def _refresh(self) -> dict[str, str]:
        self.refreshes += 1
        expiry = self.clock.datetime(remove_tzinfo=False) + timedelta(hours=1)
        return {
            "access_key": GEN2[0],
            "secret_key": GEN2[1],
            "token": GEN2[2],
            "expiry_time": expiry.isoformat(),
        }


def _generation(token: str) -> int:
    fields = token_fields(token)
    key_gen = {GEN1[0]: 1, GEN2[0]: 2}[fields["KeyId"]]
    session_gen = {GEN1[2]: 1, GEN2[2]: 2}[fields["X-Amz-Security-Token"]]
    assert key_gen == session_gen, f"key id of generation {key_gen}, session token of {session_gen}"
    return key_gen


def _burst(route: Route, n: int, *, sync: bool, stream: bool) -> tuple[list[Outcome], list[str]]:
    """``n`` concurrent calls (threads, or tasks on one loop); then the pool's problems."""
    if sync:
        with ThreadPoolExecutor(n) as pool:
            outs = list(
                pool.map(lambda _: _call(route, sync=True, stream=stream, **_no_keys()), range(n))
            )
        return outs, sync_pool_problems()

    async def run() -> tuple[list[Outcome], list[str]]:
        kwargs = {
            "model": MODEL,
            "messages": MESSAGES,
            "api_base": route.url,
            "timeout": TIMEOUT_S,
            "num_retries": 0,
            **REGION,
        }
        calls = (run_call_async(litellm.acompletion, stream, dict(kwargs)) for _ in range(n))
        outs = await asyncio.wait_for(asyncio.gather(*calls), TIMEOUT_S + SLACK_S)
        return list(outs), async_pool_problems()

    return asyncio.run(run())


def _no_keys() -> dict[str, Any]:
    # No aws_* keys: the credentials come from botocore's default chain (patched below).
    return {"aws_access_key_id": None, "aws_secret_access_key": None}


def test_rotating_credentials_remint_without_mixing_key_material(
    route: Route, monkeypatch: pytest.MonkeyPatch, sync: bool, stream: bool
) -> None:
    provider = Rotating(route.clock)
    monkeypatch.setattr(
        botocore.session.Session, "get_credentials", lambda self: provider.credentials
    )
    _assert_answered(_call(route, sync=sync, stream=stream, **_no_keys()), stream)
    assert TOKENS.mints == 1
    # 56 minutes on: the cache refreshes 5 minutes before the credentials expire, and botocore
    # rotates them 10 minutes before. Then 8 concurrent calls race over the rotation.
    route.clock.advance(56 * 60)
    outs, problems = _burst(route, 8, sync=sync, stream=stream)
    for out in outs:
        _assert_answered(out, stream, alone=False)
    assert problems == []
    assert TOKENS.mints == 2 and provider.refreshes == 1  # minted once for the burst
    generations = [_generation(token) for token in route.tokens]
    assert generations == [1] + [2] * 8
    assert len(route.hits) == 9  # no request was refused and retried


def test_rotated_shared_credentials_file_is_picked_up_after_a_refusal(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Static keys from the default chain (a shared credentials file); an operator rotates them
    # and deactivates the old key, which the route then refuses (403).
    creds_file = tmp_path / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds_file))

    def write(gen: tuple[str, str, str]) -> None:
        creds_file.write_text(
            f"[default]\naws_access_key_id = {gen[0]}\naws_secret_access_key = {gen[1]}\n"
        )

    write(GEN1)
    _assert_answered(_call(route, sync=True, stream=False, **_no_keys()), False)
    write(GEN2)
    route.refuse = lambda index, token: 403 if token_fields(token)["KeyId"] == GEN1[0] else 0
    _assert_answered(_call(route, sync=True, stream=False, **_no_keys()), False)


def test_fake_clock_reaches_the_signer(route: Route) -> None:
    # The premise of the tests above: moving the clock moves X-Amz-Date in minted tokens.
    route.clock.advance(3 * 86400)
    stamp = datetime.fromtimestamp(route.clock.now, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    _assert_answered(_call(route, sync=True, stream=False), False)
    assert token_fields(route.tokens[0])["X-Amz-Date"] == stamp
