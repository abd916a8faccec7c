"""A component scaled to zero: SageMaker's no-capacity 400 until its scale-out has run."""

from __future__ import annotations

import time

import botocore.exceptions
import httpx
import pytest
from botocore.parsers import RestJSONParser
from emulator.emulator_support import CREDS, bearer, mint

from conformance._emulator import EmulatorConfig, create_emulator_app
from conformance._emulator._capacity import (
    DEFAULT_PROVISION_S,
    ERROR_TYPE,
    NO_CAPACITY,
    parse_scale_to_zero_flag,
)
from conformance._emulator.cli import build_parser, main
from conformance._reference import ReferenceConfig

CHAT = "/endpoints/zero-ep/inference-components/cold-ic/openai/v1/chat/completions"
INVOKE = "/endpoints/zero-ep/invocations"
COMPONENT = {"X-Amzn-SageMaker-Inference-Component": "cold-ic"}
BODY = {"messages": [{"role": "user", "content": "hi"}]}


class Clock:
    """Real time, moved forward by hand."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


def cold(clock: Clock, seconds: float = 60.0) -> EmulatorConfig:
    return EmulatorConfig(
        credentials=(CREDS,),
        reference=ReferenceConfig(),
        scale_to_zero={("zero-ep", "cold-ic"): seconds},
        clock=clock,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "extra"), [(CHAT, {}), (INVOKE, COMPONENT)], ids=["openai_route", "invocations"]
)
async def test_refused_with_sagemakers_400_until_the_scale_out_has_run(
    path: str, extra: dict[str, str]
) -> None:
    clock = Clock()
    app = create_emulator_app(cold(clock))
    headers = {**bearer(mint()), **extra}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator"
    ) as client:
        refused = await client.post(path, json=BODY, headers=headers)
        clock.skew = 59.0  # the clock started with the first refused call
        again = await client.post(path, json=BODY, headers=headers)
        clock.skew = 60.0
        served = await client.post(path, json=BODY, headers=headers)
        clock.skew = 0.0  # once in service, it stays in service
        still = await client.post(path, json=BODY, headers=headers)
    assert (refused.status_code, again.status_code) == (400, 400)
    assert refused.json() == {"message": NO_CAPACITY}
    assert refused.headers["x-amzn-ErrorType"] == ERROR_TYPE
    assert len(refused.headers["x-amzn-RequestId"]) == 36
    assert (served.status_code, still.status_code) == (200, 200)
    assert app.state.capacity.refused[("zero-ep", "cold-ic")] == 2
    assert app.state.capacity.noticed_after[("zero-ep", "cold-ic")] < 60


def test_botocore_reads_the_refusal_as_a_validation_error() -> None:
    parsed = RestJSONParser().parse(
        {
            "status_code": 400,
            "headers": {"x-amzn-errortype": ERROR_TYPE},
            "body": f'{{"message": "{NO_CAPACITY}"}}'.encode(),
        },
        None,
    )
    assert parsed["Error"] == {"Code": "ValidationError", "Message": NO_CAPACITY}
    error = botocore.exceptions.ClientError(parsed, "InvokeEndpoint")
    assert "ValidationError" in str(error)
    assert "has no capacity" in str(error)


@pytest.mark.asyncio
async def test_other_names_are_served_and_bad_names_refused_first() -> None:
    app = create_emulator_app(cold(Clock()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator"
    ) as client:
        warm = await client.post(
            "/endpoints/zero-ep/inference-components/warm-ic/openai/v1/chat/completions",
            json=BODY,
            headers=bearer(mint()),
        )
        unsigned = await client.post(CHAT, json=BODY)
    assert warm.status_code == 200
    assert unsigned.status_code == 401  # credentials are checked before capacity
    assert not app.state.capacity.refused


def test_the_flag() -> None:
    assert parse_scale_to_zero_flag("ep/ic") == (("ep", "ic"), DEFAULT_PROVISION_S)
    assert parse_scale_to_zero_flag("ep/ic=2.5") == (("ep", "ic"), 2.5)
    args = build_parser().parse_args(["--scale-to-zero", "a/b=3", "--scale-to-zero", "c/d"])
    assert args.scale_to_zero == ["a/b=3", "c/d"]
    for bad in ("ep", "ep/ic=", "ep/ic=soon", "ep/ic=-1", "ep/ic=nan", "ep/a b"):
        with pytest.raises(ValueError, match=r"scale-to-zero|provisioning|name"):
            parse_scale_to_zero_flag(bad)


def test_the_cli_refuses_a_bad_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--reference", "--scale-to-zero", "ep/ic=soon", "--port", "0"]) == 2
    assert "SECONDS must be a number" in capsys.readouterr().err


def test_a_cold_component_needs_a_container() -> None:
    with pytest.raises(ValueError, match="--reference"):
        EmulatorConfig(credentials=(CREDS,), scale_to_zero={("ep", "ic"): 1.0})
    mapped = EmulatorConfig(
        credentials=(CREDS,),
        components={("ep", "ic"): "http://127.0.0.1:9"},
        scale_to_zero={("ep", "ic"): 1.0},
    )
    assert mapped.components[("ep", "ic")] == "http://127.0.0.1:9"
