"""Instance-hour cost (``_cost.py``): the sharing rule on a fake clock, the options, what a
container may not state, and how the stated cost reaches LiteLLM at the HTTP edge (respx).

End to end through the emulator, a Router and a real proxy: tests/integration/test_cost.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, MESSAGES, chunk, completion_json, sse, usage_chunk

from litellm_sagemaker_openai._cost import METER, Meter
from litellm_sagemaker_openai._options import Options


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_lone_request_holds_the_whole_instance_for_its_duration(clock: Clock) -> None:
    meter = Meter(clock)
    interval = meter.start("ep", 1.0, per_hour=3.6)
    clock.now += 10
    assert interval.stop() == pytest.approx(10.0)
    assert interval.cost == pytest.approx(10 * 3.6 / 3600)
    clock.now += 50
    assert interval.stop() == pytest.approx(10.0)  # stopping again changes nothing
    assert meter.in_flight() == 0


def test_overlapping_requests_share_the_instance_and_add_up_to_the_busy_time(
    clock: Clock,
) -> None:
    # a: 0-10 s, b: 4-16 s. Alone, together (each pays half), alone again.
    meter = Meter(clock)
    a = meter.start("ep", 1.0, per_hour=1.0)
    clock.now += 4
    b = meter.start("ep", 1.0, per_hour=1.0)
    clock.now += 6
    held_a = a.stop()
    clock.now += 6
    held_b = b.stop()
    assert held_a == pytest.approx(4 + 6 / 2)
    assert held_b == pytest.approx(6 / 2 + 6)
    assert held_a + held_b == pytest.approx(16.0)  # the instance was busy 16 s
    assert meter.in_flight() == 0


def test_several_instances_serve_that_many_requests_each_at_full_price(clock: Clock) -> None:
    meter = Meter(clock)
    two = [meter.start("ep", 2.0, per_hour=1.0) for _ in range(2)]
    clock.now += 3
    assert [i.stop() for i in two] == pytest.approx([3.0, 3.0])  # one instance each
    four = [meter.start("ep", 2.0, per_hour=1.0) for _ in range(4)]
    clock.now += 8
    assert [i.stop() for i in four] == pytest.approx([4.0] * 4)  # 2 instances x 8 s, split by 4


def test_deployments_and_instance_counts_are_separate_pools(clock: Clock) -> None:
    meter = Meter(clock)
    a = meter.start("ep-a", 1.0, per_hour=1.0)
    b = meter.start("ep-b", 1.0, per_hour=1.0)
    c = meter.start("ep-a", 3.0, per_hour=1.0)
    clock.now += 5
    assert [a.stop(), b.stop(), c.stop()] == pytest.approx([5.0, 5.0, 5.0])


def test_idle_time_between_requests_is_charged_to_no_one(clock: Clock) -> None:
    meter = Meter(clock)
    first = meter.start("ep", 1.0, per_hour=1.0)
    clock.now += 2
    first.stop()
    clock.now += 3600  # an idle hour
    second = meter.start("ep", 1.0, per_hour=1.0)
    clock.now += 2
    assert second.stop() == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"instance_cost_per_hour": 1.21}, (1.21, 1.0)),
     ({"instance_cost_per_hour": "5", "instance_count": "2.5"}, (5.0, 2.5)),
     ({}, (None, 1.0))],
)  # fmt: skip
def test_instance_options_parse(params: dict[str, Any], expected: tuple[Any, float]) -> None:
    options = Options({}, params)
    assert (options.instance_cost_per_hour, options.instance_count) == expected
    # The refusals (0, inf, "free", True, with a token price) are in test_options.py.


def _stream(sync: bool, **kwargs: Any) -> list[Any]:
    call = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "stream": True,
            "stream_options": {"include_usage": True}, **CREDS, **kwargs}  # fmt: skip
    if sync:
        return list(litellm.completion(**call))

    async def run() -> list[Any]:
        return [c async for c in await litellm.acompletion(**call)]

    return asyncio.run(run())


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_cost_the_container_states_is_dropped(sync: bool) -> None:
    # LiteLLM would take a stream's usage.cost over the deployment's prices: a container must
    # not set what its answers cost.
    stated = {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33, "cost": 1000.0}
    body = completion_json("hi")
    body["usage"] = dict(stated)
    prices = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=body)
        reply = litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, **CREDS, **prices
        )
    assert getattr(reply.usage, "cost", None) is None
    assert reply._hidden_params["response_cost"] == pytest.approx(11e-6 + 44e-6)
    events = (chunk({"content": "hi"}), chunk({}, "stop"), {**usage_chunk(), "usage": stated})
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events))
        chunks = _stream(sync, **prices)
    # LiteLLM >= 1.108 writes its own (token-priced) cost there; never the container's.
    assert getattr(chunks[-1].usage, "cost", None) in (None, pytest.approx(11e-6 + 44e-6))
    built = litellm.stream_chunk_builder(chunks)
    assert litellm.completion_cost(completion_response=built) == pytest.approx(11e-6 + 44e-6)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_the_instance_cost_is_stated_for_stream_and_non_stream(sync: bool) -> None:
    priced = {"instance_cost_per_hour": 36.0}
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=completion_json("hi"))
        reply = litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, **CREDS, **priced
        )
    cost = reply._hidden_params["response_cost"]
    # The held time is at most the call's own duration (LiteLLM's _response_ms), at 1 cent/s.
    assert 0 < cost == reply.usage.cost <= reply._response_ms / 1000 * 0.01
    assert litellm.completion_cost(completion_response=reply) == cost
    events = (chunk({"content": "hi"}), chunk({}, "stop"), usage_chunk())
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events))
        chunks = _stream(sync, **priced)
    stated = chunks[-1].usage.cost
    assert stated > 0 and chunks[-1].usage.total_tokens == 33
    built = litellm.stream_chunk_builder(chunks)
    assert built._hidden_params["response_cost"] == stated
    assert litellm.completion_cost(completion_response=built) == stated
    assert METER.in_flight() == 0


def test_completion_cost_with_prices_of_its_own_is_left_to_litellm() -> None:
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, json=completion_json("hi"))
        reply = litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, instance_cost_per_hour=1.0, **CREDS
        )
    own = litellm.completion_cost(
        completion_response=reply,
        custom_cost_per_token={"input_cost_per_token": 1.0, "output_cost_per_token": 1.0},
    )
    assert own == 7.0  # 3 + 4 tokens at the caller's price, not the stated instance cost


@pytest.mark.parametrize("status", [500, 429])
def test_a_failed_request_is_not_left_metered(status: int) -> None:
    with respx.mock() as mock, pytest.raises((litellm.InternalServerError, litellm.RateLimitError)):
        mock.post(EP_URL).respond(status, json={"error": {"message": "no"}})
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0,
                           instance_cost_per_hour=1.0, **CREDS)  # fmt: skip
    assert METER.in_flight() == 0


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_an_abandoned_stream_is_not_left_metered(sync: bool) -> None:
    events = (chunk({"content": "a"}), chunk({"content": "b"}), chunk({}, "stop"), usage_chunk())
    call = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "stream": True,
            "instance_cost_per_hour": 1.0, **CREDS}  # fmt: skip
    with respx.mock() as mock:
        mock.post(EP_URL).respond(200, content=sse(*events))
        if sync:
            stream = litellm.completion(**call)
            next(iter(stream))
            stream.completion_stream.close()
        else:

            async def run() -> None:
                stream = await litellm.acompletion(**call)
                await stream.__anext__()
                await stream.completion_stream.aclose()

            asyncio.run(run())
    assert METER.in_flight() == 0
