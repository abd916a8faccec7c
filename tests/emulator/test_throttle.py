"""The induced-429 switch: a seeded fraction of routable requests answered ThrottlingException."""

from __future__ import annotations

import random

import httpx
import pytest
from emulator.emulator_support import CREDS, bearer, mint

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator.cli import main

CHAT = "/endpoints/demo-endpoint/openai/v1/chat/completions"
INVOKE = "/endpoints/demo-endpoint/invocations"


def throttling(config: EmulatorConfig, **change: object) -> EmulatorConfig:
    values = {
        "credentials": config.credentials,
        "endpoints": config.endpoints,
        "components": config.components,
        **change,
    }
    return EmulatorConfig(**values)  # type: ignore[arg-type]


async def statuses(config: EmulatorConfig, count: int, path: str = CHAT) -> list[int]:
    transport = httpx.ASGITransport(app=create_emulator_app(config))
    token = mint()
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        return [
            (await client.post(path, json={"tag": True}, headers=bearer(token))).status_code
            for _ in range(count)
        ]


@pytest.mark.asyncio
async def test_off_by_default(config: EmulatorConfig) -> None:
    assert config.throttle_rate == 0.0
    assert await statuses(config, 20) == [200] * 20


@pytest.mark.asyncio
@pytest.mark.parametrize("path", [CHAT, INVOKE], ids=["openai_route", "invocations"])
async def test_a_throttled_request_is_aws_shaped_and_never_reaches_the_container(
    config: EmulatorConfig, path: str
) -> None:
    transport = httpx.ASGITransport(app=create_emulator_app(throttling(config, throttle_rate=1.0)))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        response = await client.post(path, json={"tag": True}, headers=bearer())
    assert response.status_code == 429
    assert response.headers["x-amzn-errortype"] == "ThrottlingException"
    assert response.headers["retry-after"] == "0"
    assert list(response.json()) == ["message"]
    assert "tag" not in response.text  # the stub container would have answered {"tag": ...}


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [0, 7, 12345])
async def test_the_draws_follow_the_seed(config: EmulatorConfig, seed: int) -> None:
    draws = random.Random(seed)
    expected = [429 if draws.random() < 0.25 else 200 for _ in range(40)]
    got = await statuses(throttling(config, throttle_rate=0.25, throttle_seed=seed), 40)
    assert got == expected
    assert 200 in got and 429 in got  # so the comparison above is not vacuous


@pytest.mark.asyncio
async def test_refusals_come_before_the_throttle(config: EmulatorConfig) -> None:
    transport = httpx.ASGITransport(app=create_emulator_app(throttling(config, throttle_rate=1.0)))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        wrong_region = await client.post(CHAT, json={}, headers=bearer(mint(region="us-west-2")))
        unknown = await client.post(
            "/endpoints/nope/openai/v1/chat/completions", json={}, headers=bearer()
        )
    assert (wrong_region.status_code, unknown.status_code) == (403, 404)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_rates_outside_zero_to_one_are_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="throttle_rate"):
        EmulatorConfig(credentials=(CREDS,), throttle_rate=rate)


def test_the_cli_refuses_a_bad_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--reference", "--throttle-rate", "2"]) == 2
    assert "throttle_rate" in capsys.readouterr().err
