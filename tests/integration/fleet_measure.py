"""Measure how fast a cooldown one proxy replica sets reaches another, with and without Redis.

    PYTHONPATH=$PWD:$PWD/tests .venv/bin/python tests/integration/fleet_measure.py [--workers 2]

Per trial, a fresh model group of two deployments, one throttled (every request 429):

1. replica two sends one request to the group (its Router reads the group's cooldowns now);
2. replica one sends requests until one reaches the throttled deployment, which it cools down;
3. after ``delay`` seconds, replica two sends one request: did it reach the throttled deployment?

A trial whose step 1 itself reached the throttled deployment (replica two cooled it down on its
own) is discarded. The figures are in docs/provider/fleet.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from integration.fleet_support import (
    REPLICAS,
    Replica,
    UpstreamCounter,
    ask,
    deployment,
    fleet_config,
    run_fleet,
    run_redis,
    run_upstreams,
)

DELAYS = (0.0, 0.5, 1.5)
SETTINGS = ("router_settings", "env", "cache", "coordination_redis")


def trial(
    group: str, delay: float, replicas: tuple[Replica, ...], throttled: UpstreamCounter
) -> dict[str, Any] | None:
    one, two = replicas
    target = f"{group}-throttled"
    ask(two, group, "warm up")
    if throttled.hits(target, two.credentials):
        return None
    for _ in range(10):
        ask(one, group, "cool it down")
        if throttled.hits(target, one.credentials):
            break
    (cooled_at,) = throttled.arrivals(target, one.credentials)
    time.sleep(max(0.0, cooled_at + delay - time.monotonic()))
    probed_at = time.monotonic()
    ask(two, group, "probe")
    return {"delay_s": delay, "probe_after_429_ms": round((probed_at - cooled_at) * 1000),
            "reached_throttled": throttled.hits(target, two.credentials)}  # fmt: skip


def measure(redis: bool, workers: int, trials: int) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        port = stack.enter_context(run_redis(workdir)) if redis else None
        (throttled, throttled_url), (_, healthy_url) = stack.enter_context(run_upstreams())
        config = fleet_config(throttled_url, healthy_url, port)
        groups = [f"probe-{delay}-{k}".replace(".", "") for delay in DELAYS for k in range(trials)]
        config["model_list"] += [
            d
            for group in groups
            for d in (
                deployment(group, f"{group}-throttled", throttled_url, cooldown_time=300),
                deployment(group, f"{group}-healthy", healthy_url),
            )
        ]
        started = time.monotonic()
        replicas = stack.enter_context(run_fleet(config, workdir, workers=workers))
        startup_s = time.monotonic() - started
        results = [
            trial(group, delay, replicas, throttled)
            for group, delay in zip(groups, [d for d in DELAYS for _ in range(trials)], strict=True)
        ]
        in_redis = cooldowns_in_redis(port) if port else None
    kept = [r for r in results if r is not None]
    by_delay = {
        str(delay): {
            "trials": len(rows),
            "reached_throttled": sum(r["reached_throttled"] for r in rows),
            "probe_after_429_ms": [r["probe_after_429_ms"] for r in rows],
        }
        for delay in DELAYS
        if (rows := [r for r in kept if r["delay_s"] == delay])
    }
    return {"redis": redis, "workers": workers, "startup_s": round(startup_s, 1),
            "discarded": len(results) - len(kept), "cooldowns_in_redis": in_redis,
            "by_delay": by_delay}  # fmt: skip


def cooldowns_in_redis(port: int) -> int:
    """How many ``deployment:<id>:cooldown`` entries the fleet's Redis holds."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        return len(client.keys("deployment:*:cooldown"))
    finally:
        client.close()


def settings_check(via: str) -> dict[str, Any]:
    """Which setting gives one proxy's Router the Redis, and what else it turns on."""
    import redis

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        port = stack.enter_context(run_redis(workdir))
        (throttled, throttled_url), (healthy, healthy_url) = stack.enter_context(run_upstreams())
        config = fleet_config(
            throttled_url, healthy_url, port if via == "router_settings" else None
        )
        where = {"host": "127.0.0.1", "port": port}
        env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port)} if via == "env" else {}
        if via == "cache":
            config["litellm_settings"].update(cache=True, cache_params={"type": "redis", **where})
        if via == "coordination_redis":
            config["general_settings"]["coordination_redis"] = where
        (replica,) = stack.enter_context(run_fleet(config, workdir, REPLICAS[:1], env=env))
        for attempt in range(10):  # never the same request twice: a response cache would answer
            ask(replica, "fleet-cool", f"cool it down {attempt}")
            if throttled.hits("cool-throttled"):
                break
        for _ in range(2):
            ask(replica, "fleet-chat", "the same question")
        time.sleep(2.0)  # longer than LiteLLM's 1 s batched writes
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        keys = client.keys("*")
        client.close()
    families = sorted({key.replace("cool-throttled", "<id>").split(":")[0] for key in keys})
    return {"via": via, "cooldown_in_redis": "deployment:cool-throttled:cooldown" in keys,
            "usage_in_redis": any(":tpm:" in key for key in keys), "key_prefixes": families,
            "identical_requests_reaching_upstream": healthy.hits("chat")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="--num_workers of each replica")
    parser.add_argument("--trials", type=int, default=4, help="trials per delay")
    parser.add_argument(
        "--settings", nargs="*", choices=SETTINGS, help="which settings share state"
    )
    args = parser.parse_args()
    if args.settings is not None:
        for via in args.settings or SETTINGS:
            print(json.dumps(settings_check(via)), flush=True)
        return
    for redis in (True, False):
        print(json.dumps(measure(redis, args.workers, args.trials)), flush=True)


if __name__ == "__main__":
    main()
