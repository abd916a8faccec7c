"""A component scaled to zero, through LiteLLM: the Router serves from elsewhere, callers may wait.

Every emulator here is addressed by a hostname (``localhost``), as real runtime URLs are, and
each test gets its own port, so the plugin's process-wide record of cold components starts
empty for it. The async streams run on ``asyncio.run``'s loop, whose default executor (where
LiteLLM calls ``astreaming``) has 6 workers on a 2-core machine: 50 streams waiting there at
once would deadlock if a wait held a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import litellm
import pytest
from starlette.applications import Starlette

from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app
from conformance._emulator._harness import serve_app
from conformance._reference import ReferenceConfig
from litellm_sagemaker_openai._capacity import FIRST_PAUSE_S
from litellm_sagemaker_openai._errors import SageMakerNoCapacityError

COLD: Final = ("zero-ep", "cold-ic")
COLD_MODEL: Final = "sagemaker_openai/zero-ep/cold-ic"
SECOND_COLD: Final = ("zero-ep", "second-ic")  # another component at zero, for the proxy's tests
MESSAGES: Final = [{"role": "user", "content": "hello there"}]
NEVER_S: Final = 3600.0  # a scale-out that does not end within a test
SHORT_S: Final = 1.0
MODES: Final = ["sync", "sync-stream", "async", "async-stream"]


@contextlib.contextmanager
def emulator(creds: TestCredentials, provisioning: float) -> Iterator[tuple[Starlette, str]]:
    """An emulator with ``COLD`` at zero copies; yields the app and its base URL by hostname."""
    cold = {COLD: provisioning, SECOND_COLD: provisioning}
    config = EmulatorConfig(credentials=(creds,), reference=ReferenceConfig(), scale_to_zero=cold)
    app = create_emulator_app(config)
    with serve_app(app) as url:
        yield app, url.replace("127.0.0.1", "localhost")


def params(url: str, creds: TestCredentials, **extra: Any) -> dict[str, Any]:
    return {
        "api_base": url,
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
        "aws_region_name": "us-east-1",
        **extra,
    }


def refused(app: Starlette) -> int:
    return int(app.state.capacity.refused[COLD])


async def _acall(mode: str, call: Any, **kwargs: Any) -> str:
    stream = mode.endswith("stream")
    response = await call(messages=MESSAGES, stream=stream, **kwargs)
    if not stream:
        return str(response.choices[0].message.content)
    return "".join([chunk.choices[0].delta.content or "" async for chunk in response])


def _call(mode: str, call: Any, **kwargs: Any) -> str:
    stream = mode.endswith("stream")
    response = call(messages=MESSAGES, stream=stream, **kwargs)
    if not stream:
        return str(response.choices[0].message.content)
    return "".join(chunk.choices[0].delta.content or "" for chunk in response)


def run(mode: str, sync_call: Any, async_call: Any, times: int, **kwargs: Any) -> list[str]:
    """``times`` calls: one after another (sync) or all at once (async)."""
    if mode.startswith("sync"):
        return [_call(mode, sync_call, **kwargs) for _ in range(times)]

    async def main() -> list[str]:
        calls = [_acall(mode, async_call, **kwargs) for _ in range(times)]
        return list(await asyncio.gather(*calls))

    return asyncio.run(main())


ROUTER_RETRIES_FIRST_READ = tuple(
    int(p) for p in importlib.metadata.version("litellm").split(".")[:2]
) >= (1, 108)


@pytest.mark.parametrize("mode", MODES)
def test_a_router_serves_every_call_from_the_warm_deployment(
    mode: str, test_creds: TestCredentials
) -> None:
    if mode == "async-stream" and not ROUTER_RETRIES_FIRST_READ:
        # A refusal that comes after the open's brief wait is raised on the first read, which
        # LiteLLM 1.106-1.107's Router falls back on but does not retry
        # (docs/provider/litellm-versions.md): with no fallback, the call fails.
        pytest.skip("LiteLLM < 1.108 does not retry an async stream's first-read error")
    with emulator(test_creds, NEVER_S) as (app, url):
        deployment = params(url, test_creds)
        model_list = [
            {"model_name": "chat", "litellm_params": {"model": COLD_MODEL, **deployment}},
            {
                "model_name": "chat",
                "litellm_params": {"model": "sagemaker_openai/warm-ep", **deployment},
            },
        ]
        router = litellm.Router(model_list=model_list, num_retries=2)
        answers = run(mode, router.completion, router.acompletion, 20, model="chat")
        assert len(answers) == 20 and all(answers)
        assert refused(app) >= 1  # the cold deployment was tried, then cooled down ...
        # ... and not tried again until its cooldown ran: one refusal when calls come one after
        # another; when they come at once, each may have picked it before the first refusal.
        assert refused(app) <= (1 if mode.startswith("sync") else 20)


@pytest.mark.parametrize("mode", MODES)
def test_without_a_wait_the_refusal_says_what_to_do(mode: str, test_creds: TestCredentials) -> None:
    with emulator(test_creds, NEVER_S) as (app, url):
        kwargs = params(url, test_creds, model=COLD_MODEL)
        with pytest.raises(litellm.RateLimitError) as caught:
            run(mode, litellm.completion, litellm.acompletion, 1, **kwargs)
    assert isinstance(caught.value, SageMakerNoCapacityError)
    assert caught.value.status_code == 429
    message = str(caught.value)
    assert "scaling from zero" in message and "wait_for_capacity" in message
    assert "Inference Component has no capacity" in message  # SageMaker's own words
    assert refused(app) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("callers", [1, 50])
def test_waiting_callers_are_served_once_the_component_scaled_out(
    mode: str, callers: int, test_creds: TestCredentials
) -> None:
    with emulator(test_creds, SHORT_S) as (app, url):
        kwargs = params(url, test_creds, model=COLD_MODEL, wait_for_capacity=60)
        if mode.startswith("sync") and callers > 1:
            with ThreadPoolExecutor(callers) as pool:
                answers = list(
                    pool.map(lambda _: _call(mode, litellm.completion, **kwargs), range(callers))
                )
        else:
            answers = run(mode, litellm.completion, litellm.acompletion, callers, **kwargs)
    assert len(answers) == callers and all(answers)
    assert refused(app) >= 1


@pytest.mark.parametrize("mode", ["async", "async-stream"])
def test_fifty_waiters_send_one_call_per_pause(mode: str, test_creds: TestCredentials) -> None:
    with emulator(test_creds, SHORT_S) as (app, url):
        kwargs = params(url, test_creds, model=COLD_MODEL)
        with pytest.raises(SageMakerNoCapacityError):  # starts the scale-out; the plugin notes it
            litellm.completion(messages=MESSAGES, **kwargs)
        answers = run(
            mode, litellm.completion, litellm.acompletion, 50, wait_for_capacity=60, **kwargs
        )
        assert len(answers) == 50 and all(answers)
    # Pauses are at least half of FIRST_PAUSE_S: within the scale-out, no more probes than that
    # allows (and one more that may straddle its end), against 50 per round without sharing.
    probes = refused(app) - 1
    assert 1 <= probes <= SHORT_S / (FIRST_PAUSE_S / 2) + 1


def test_a_wait_that_runs_out_raises_the_refusal(test_creds: TestCredentials) -> None:
    with emulator(test_creds, NEVER_S) as (app, url):
        kwargs = params(url, test_creds, model=COLD_MODEL, wait_for_capacity=0.5)
        with pytest.raises(SageMakerNoCapacityError, match=r"waited wait_for_capacity=0\.5 s"):
            litellm.completion(messages=MESSAGES, **kwargs)
    assert refused(app) >= 2  # the first call, then at least one probe


def test_the_wait_is_set_per_deployment(test_creds: TestCredentials) -> None:
    with emulator(test_creds, SHORT_S) as (app, url):
        deployment = params(url, test_creds, model=COLD_MODEL, wait_for_capacity=60)
        router = litellm.Router(model_list=[{"model_name": "cold", "litellm_params": deployment}])
        assert _call("sync", router.completion, model="cold")
    assert refused(app) >= 1
