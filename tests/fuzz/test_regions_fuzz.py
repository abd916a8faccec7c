"""Region strings: a valid id gives exactly its partition's host; anything else fails before I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import litellm
import pytest
from botocore.credentials import Credentials
from fuzz.fuzz_support import (
    PARTITION_REGIONS,
    botocore_dns_suffix,
    fuzz,
    invalid_regions,
    is_valid_region,
    no_sockets,
    valid_regions,
)
from hypothesis import given
from hypothesis import strategies as st

import litellm_sagemaker_openai
from conformance._emulator import EmulatorConfig, TestCredentials, TokenRejected, verify_token
from litellm_sagemaker_openai import ConfigurationError
from litellm_sagemaker_openai._credentials import validate_region
from litellm_sagemaker_openai._routing import runtime_base
from litellm_sagemaker_openai._token import mint_token

litellm.suppress_debug_info = True
litellm_sagemaker_openai.register()

CREDS = TestCredentials("AKIAFUZZEXAMPLE00002", "fuzz/region/secret/0123456789abcdefghij")
FROZEN = Credentials(CREDS.access_key_id, CREDS.secret_access_key).get_frozen_credentials()
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@fuzz()
@given(valid_regions)
def test_a_valid_region_names_exactly_its_partitions_host(region: str) -> None:
    assert is_valid_region(region)
    assert validate_region(region) == region
    parts = urlsplit(runtime_base(region))
    assert parts.scheme == "https"
    assert (parts.port, parts.username, parts.path, parts.query) == (None, None, "", "")
    assert parts.hostname == f"runtime.sagemaker.{region}.{botocore_dns_suffix(region)}"


@fuzz(0.5)
@given(valid_regions, valid_regions)
def test_the_emulator_accepts_a_token_only_for_its_own_region(region: str, other: str) -> None:
    now = time.time()
    token = mint_token(FROZEN, region, 300)
    verdict = verify_token(token, region=region, credentials=(CREDS,), now=now)
    assert verdict.region == EmulatorConfig(region=region, credentials=(CREDS,)).region == region
    if other != region:
        with pytest.raises(TokenRejected) as refused:
            verify_token(token, region=other, credentials=(CREDS,), now=now)
        assert refused.value.rule == "region"


@fuzz()
@given(invalid_regions)
def test_an_invalid_region_is_a_configuration_error(region: str) -> None:
    assert not is_valid_region(region)
    with pytest.raises(ConfigurationError):
        validate_region(region)
    with pytest.raises(ConfigurationError):
        runtime_base(region)
    with pytest.raises(ValueError):
        EmulatorConfig(region=region)


@fuzz(0.3)
@given(invalid_regions, st.sampled_from(["sync", "sync_stream", "async", "async_stream"]))
def test_litellm_refuses_an_invalid_region_before_any_socket(
    loop: asyncio.AbstractEventLoop, region: str, mode: str
) -> None:
    kwargs = {"model": "sagemaker_openai/demo-endpoint", "messages": MESSAGES, "num_retries": 0,
              "stream": mode.endswith("stream"), "aws_region_name": region,
              "aws_access_key_id": CREDS.access_key_id, "aws_secret_access_key": CREDS.secret_access_key}  # fmt: skip
    with no_sockets() as attempts, pytest.raises(litellm.BadRequestError) as caught:
        if mode.startswith("sync"):
            litellm.completion(**kwargs)
        else:
            loop.run_until_complete(litellm.acompletion(**kwargs))
    assert isinstance(caught.value, ConfigurationError), repr(caught.value)
    assert attempts == []


@pytest.mark.parametrize("region", PARTITION_REGIONS)
def test_every_botocore_partition_gets_its_own_dns_suffix(region: str) -> None:
    # aws-iso-e, aws-iso-f and aws-eusc were once given amazonaws.com.
    host = urlsplit(runtime_base(region)).hostname
    assert host == f"runtime.sagemaker.{region}.{botocore_dns_suffix(region)}"


@pytest.mark.parametrize("region", ["us-east-\u0661", "eu-west-\uff11", "us-west-\u0967\u0968"])
def test_a_region_with_non_ascii_digits_is_refused(region: str) -> None:
    # In a str pattern \d matches any Unicode digit; these once reached the URL host.
    with pytest.raises(ConfigurationError):
        validate_region(region)
