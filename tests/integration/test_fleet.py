"""Two ``litellm`` proxy replicas sharing Router state through a real Redis, each with the plugin.

Each replica signs with its own access key, so the upstreams count what each replica sent.
"""

from __future__ import annotations

import ast
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
from integration.fleet_support import (
    RPM,
    Replica,
    UpstreamCounter,
    ask,
    eventually,
    fleet_config,
    openai_client,
    run_fleet,
    run_redis,
    run_upstreams,
)
from processes import REDIS_MISSING, REDIS_SERVER

pytestmark = [pytest.mark.proxy, pytest.mark.slow]
WEATHER: Final = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip


@dataclass(frozen=True)
class Fleet:
    replicas: tuple[Replica, ...]
    throttled: UpstreamCounter  # an emulator that answers every request 429 ThrottlingException
    healthy: UpstreamCounter  # an emulator with the reference container behind it
    redis: Any  # a redis-py client on the fleet's Redis


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if shutil.which(REDIS_SERVER) is None:
        pytest.skip(REDIS_MISSING)
    redis = pytest.importorskip("redis", reason="LiteLLM's Redis client (redis-py) is missing")
    workdir = tmp_path_factory.mktemp("fleet")
    with (
        run_redis(workdir) as port,
        run_upstreams() as ((throttled, throttled_url), (healthy, healthy_url)),
        run_fleet(fleet_config(throttled_url, healthy_url, port), workdir) as replicas,
    ):
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        try:
            yield Fleet(replicas, throttled, healthy, client)
        finally:
            client.close()


def test_a_deployment_one_replica_cooled_down_is_avoided_by_the_other(fleet: Fleet) -> None:
    one, two = fleet.replicas
    # Replica one's Router spreads requests over both deployments; the first that reaches the
    # throttled one gets 429, cools it down, and is retried on the healthy one.
    for attempt in range(10):
        assert ask(one, "fleet-cool", f"hello {attempt}") == f"You said: hello {attempt}"
        if fleet.throttled.hits("cool-throttled"):
            break
    assert fleet.throttled.hits("cool-throttled", one.credentials) == 1
    cooldown = fleet.redis.get("deployment:cool-throttled:cooldown")
    # LiteLLM stores the entry as a Python repr.
    assert cooldown is not None and ast.literal_eval(cooldown)["status_code"] == "429"

    for attempt in range(6):  # streamed and not: replica two never tries the cooled deployment
        text = ask(two, "fleet-cool", f"again {attempt}", stream=attempt % 2 == 1)
        assert text == f"You said: again {attempt}"
    assert fleet.throttled.hits("cool-throttled", two.credentials) == 0
    assert fleet.healthy.hits("cool-healthy", two.credentials) == 6


def test_usage_based_routing_counts_every_replicas_requests(fleet: Fleet) -> None:
    import openai

    seconds_left = 60 - time.time() % 60
    if seconds_left < 15:  # the counters are per UTC minute: start in a fresh one
        time.sleep(seconds_left + 0.5)
    minute = time.strftime("%H-%M", time.gmtime())
    counter = f"rpm-capped:sagemaker_openai/rpm-capped:rpm:{minute}"  # the strategy's own key
    accepted: list[Replica] = []
    refused: list[Replica] = []
    for turn in range(RPM + 2):
        replica = fleet.replicas[turn % 2]
        try:
            # num_retries 0: a refused request would otherwise wait for the next minute.
            ask(replica, "fleet-rpm", f"turn {turn}", num_retries=0)
        except openai.RateLimitError as exc:
            assert "No deployments available" in str(exc)
            refused.append(replica)
            continue
        accepted.append(replica)
        # Each replica pushes its counts to Redis about once a second.
        eventually(
            f"Redis counts {len(accepted)} requests in {counter}",
            lambda: int(fleet.redis.get(counter) or 0) >= len(accepted),
        )
    one, two = fleet.replicas
    # Each replica served two, then refused: it counted the other's two. Without Redis both
    # replicas serve every request they are sent (6 of 6, measured).
    assert (accepted, refused) == ([one, two, one, two], [one, two])
    assert fleet.healthy.hits("rpm-capped", one.credentials) == 2
    assert fleet.healthy.hits("rpm-capped", two.credentials) == 2


def test_a_conversation_whose_turns_alternate_replicas(fleet: Fleet) -> None:
    """Tool calls and their results cross replicas, streamed and not: no turn needs the last's."""
    one, two = fleet.replicas
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in city=Paris"}]
    for turn, (replica, stream, weather) in enumerate(
        [(one, True, "18C"), (two, False, "21C")]  # the tool call on one replica, then the other
    ):
        call = tool_call(replica, messages, stream=stream)
        assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == (
            "get_weather", {"city": "Paris" if turn == 0 else "Rome"})  # fmt: skip
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": weather},
        ]
        # The result goes to the other replica, streamed when the call was not.
        answer = ask(fleet.replicas[1 - turn], "fleet-chat", messages, stream=not stream)
        assert answer == f"Result of get_weather: {weather}"
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "and the weather in city=Rome"},
        ]
    assert fleet.healthy.hits("chat", one.credentials) == 2
    assert fleet.healthy.hits("chat", two.credentials) == 2


def tool_call(replica: Replica, messages: list[dict[str, Any]], *, stream: bool) -> dict[str, Any]:
    """The one tool call the model makes, as the next request's assistant message carries it."""
    client = openai_client(replica)
    request = {"model": "fleet-chat", "messages": messages, "tools": [WEATHER],
               "tool_choice": "required"}  # fmt: skip
    if not stream:
        (call,) = client.chat.completions.create(**request).choices[0].message.tool_calls
        return {"id": call.id, "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments}}  # fmt: skip
    pieces = [tc for c in client.chat.completions.create(**request, stream=True) if c.choices
              for tc in c.choices[0].delta.tool_calls or []]  # fmt: skip
    assert pieces and pieces[0].id and {tc.index for tc in pieces} == {0}
    arguments = "".join(tc.function.arguments or "" for tc in pieces)
    return {"id": pieces[0].id, "type": "function",
            "function": {"name": pieces[0].function.name, "arguments": arguments}}  # fmt: skip
