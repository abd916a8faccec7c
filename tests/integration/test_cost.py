"""Instance-hour cost end to end: LiteLLM -> plugin -> emulated route on ``localhost``.

The stated cost must be the same number everywhere LiteLLM reports one: the response (its
``_hidden_params`` and ``usage.cost``, or the built stream's), ``litellm.completion_cost`` and
the standard logging payload that the proxy's spend tracking writes. The proxy's header and
spend payload are checked in test_proxy.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger
from provider_support import logged_call

from litellm_sagemaker_openai._cost import METER

PER_SECOND = 1.0  # instance_cost_per_hour=3600: one dollar per instance-second
MESSAGES = [{"role": "user", "content": "one two three four five six"}]
DEADLINE_S = 30.0  # success logging runs on a thread pool or a task: wait, generously, for it


class PayloadCosts(CustomLogger):
    """The response_cost of each standard logging payload (what spend tracking records) for one
    model: LiteLLM's logging worker may still deliver earlier tests' events."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.costs: list[float] = []

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        payload = kwargs["standard_logging_object"]
        # LiteLLM names the model with or without the provider prefix, depending on the path.
        if payload["model"].removeprefix("sagemaker_openai/") == self.model.split("/")[1]:
            self.costs.append(payload["response_cost"])

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)


ENDPOINTS = itertools.count()


@pytest.fixture
def payloads() -> Any:
    """A recorder for an endpoint name of the test's own."""
    recorder = PayloadCosts(f"sagemaker_openai/cost-{next(ENDPOINTS)}")
    litellm.callbacks.append(recorder)
    try:
        yield recorder
    finally:
        litellm.callbacks.remove(recorder)
        for name in ("success_callback", "_async_success_callback"):
            chain = getattr(litellm, name)
            chain[:] = [c for c in chain if c is not recorder]


@pytest.fixture
def hourly(call_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The deployment, by hostname, priced per instance-hour."""
    base = call_kwargs["api_base"].replace("127.0.0.1", "localhost")
    return {**call_kwargs, "api_base": base, "instance_cost_per_hour": PER_SECOND * 3600}


def _call(sync: bool, stream: bool, kwargs: dict[str, Any], recorder: PayloadCosts) -> Any:
    """One call; its response (a stream: built from its chunks) once its payload is logged."""
    call = {"model": recorder.model, "messages": MESSAGES, **kwargs}
    if stream:
        call["stream_options"] = {"include_usage": True}
    return logged_call(call, sync=sync, stream=stream, logged=lambda: bool(recorder.costs))


@pytest.mark.parametrize("stream", [False, True], ids=["nonstream", "stream"])
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_the_instance_cost_is_one_number_everywhere_litellm_reports_it(
    hourly: dict[str, Any], payloads: PayloadCosts, sync: bool, stream: bool
) -> None:
    started = time.perf_counter()
    response = _call(sync, stream, hourly, payloads)
    elapsed = time.perf_counter() - started
    stated = response._hidden_params["response_cost"]
    # Held from the send to the last byte: more than nothing, less than the whole call took.
    assert 0 < stated < elapsed * PER_SECOND
    assert response.usage.cost == stated and response.usage.total_tokens > 0
    assert litellm.completion_cost(completion_response=response) == stated
    assert payloads.costs == [stated]
    assert METER.in_flight() == 0


def test_overlapping_requests_share_the_instance(hourly: dict[str, Any]) -> None:
    async def one() -> tuple[float, float]:
        started = time.perf_counter()
        reply = await litellm.acompletion(
            model="sagemaker_openai/demo-endpoint", messages=MESSAGES, **hourly
        )
        return reply._hidden_params["response_cost"], time.perf_counter() - started

    async def burst() -> tuple[list[tuple[float, float]], float]:
        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(8)))
        return results, time.perf_counter() - started

    asyncio.run(one())  # the token and the connection pool are ready before the burst
    results, span = asyncio.run(burst())
    costs = [cost for cost, _ in results]
    durations = [duration for _, duration in results]
    # One instance serves all eight at once: together they pay for the time it was busy, at
    # most the burst's span, where eight separate instance-hours would pay about 8 spans.
    assert sum(costs) <= span * PER_SECOND
    assert sum(costs) < sum(durations) * PER_SECOND / 2
    assert all(0 < cost < duration * PER_SECOND for cost, duration in results)
    assert METER.in_flight() == 0


def test_per_second_pricing_charges_every_overlapping_call_the_whole_instance(
    call_kwargs: dict[str, Any], payloads: PayloadCosts
) -> None:
    # Why instance_cost_per_hour, and not LiteLLM's input_cost_per_second at the same rate:
    # the logged costs of an overlapping burst add up to more than the instance could bill.
    per_second = {**call_kwargs, "input_cost_per_second": PER_SECOND}

    async def burst() -> float:
        await litellm.acompletion(model=payloads.model, messages=MESSAGES, **per_second)
        deadline = time.monotonic() + DEADLINE_S
        while not payloads.costs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        payloads.costs.clear()
        started = time.perf_counter()
        await asyncio.gather(*(
            litellm.acompletion(model=payloads.model, messages=MESSAGES, **per_second)
            for _ in range(8)
        ))  # fmt: skip
        span = time.perf_counter() - started
        while len(payloads.costs) < 8 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return span

    span = asyncio.run(burst())
    assert len(payloads.costs) == 8
    assert sum(payloads.costs) > 2 * span * PER_SECOND


def test_more_instances_mean_less_sharing(hourly: dict[str, Any]) -> None:
    async def burst(instances: int) -> float:
        replies = await asyncio.gather(*(
            litellm.acompletion(model="sagemaker_openai/demo-endpoint", messages=MESSAGES,
                                **{**hourly, "instance_count": instances})
            for _ in range(4)
        ))  # fmt: skip
        return sum(r._hidden_params["response_cost"] for r in replies) / sum(
            r._response_ms / 1000 for r in replies
        )

    # Cost per second of call: 4 overlapping requests on 1 instance pay about a quarter of
    # their time each; on 4 instances each holds one whole instance.
    shared, alone = asyncio.run(burst(1)), asyncio.run(burst(4))
    assert shared < alone / 2 and alone <= PER_SECOND


def test_token_prices_still_price_tokens(call_kwargs: dict[str, Any]) -> None:
    reply = litellm.completion(
        model="sagemaker_openai/demo-endpoint", messages=MESSAGES,
        input_cost_per_token=1e-6, output_cost_per_token=2e-6, **call_kwargs,
    )  # fmt: skip
    usage = reply.usage
    expected = usage.prompt_tokens * 1e-6 + usage.completion_tokens * 2e-6
    assert reply._hidden_params["response_cost"] == pytest.approx(expected)
    assert getattr(usage, "cost", None) is None
