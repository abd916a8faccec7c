"""scale_from_zero: a component scaled to zero, behind a Router and with ``wait_for_capacity``.

Everything runs in this process against in-process emulators (each round gets its own, so the
plugin's record of cold components starts empty), addressed by hostname.

* ``router``: a Router of two deployments of one model, one scaled to zero for good and one
  warm, ``num_retries=2``; 20 concurrent async calls. Figures: how many succeed, and the time
  of the 20 against the same Router with both deployments warm (ratio).
* ``wait``: one component that provisions in :data:`PROVISION_S` after the first refused call;
  50 concurrent async streams with ``wait_for_capacity``. Figures: the time from the first call
  to the last waiter's first chunk, over the provisioning time (goal <= 1.2); the same for 50
  streams to a warm component (the floor of any wait); and the refused calls the emulator
  counted (the first wave of 50, then one probe per pause).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any, Final

from bench._core import Options, Result
from conformance._emulator import EmulatorConfig, create_emulator_app, generate_test_credentials
from conformance._emulator._harness import serve_app
from conformance._reference import ReferenceConfig

TARGET: Final = 1.2
PROVISION_S: Final = 3.0
NEVER_S: Final = 3600.0
COLD: Final = ("zero-ep", "cold-ic")
COLD_MODEL: Final = "sagemaker_openai/zero-ep/cold-ic"
WARM_MODEL: Final = "sagemaker_openai/zero-ep/warm-ic"
CALLS: Final = 20
WAITERS: Final = 50
MAX_TOKENS: Final = 4
MESSAGES: Final = [{"role": "user", "content": "hello there"}]
CREDS: Final = generate_test_credentials()


@contextlib.contextmanager
def _emulator(provisioning: float | None) -> Iterator[tuple[Any, dict[str, Any]]]:
    cold = {COLD: provisioning} if provisioning is not None else {}
    config = EmulatorConfig(credentials=(CREDS,), reference=ReferenceConfig(), scale_to_zero=cold)
    app = create_emulator_app(config)
    with serve_app(app) as url:
        yield (
            app,
            {
                "api_base": url.replace("127.0.0.1", "localhost"),
                "aws_access_key_id": CREDS.access_key_id,
                "aws_secret_access_key": CREDS.secret_access_key,
                "aws_region_name": "us-east-1",
            },
        )


async def _stream(litellm: Any, **kwargs: Any) -> float:
    """The moment the stream's first chunk arrived: when the caller has its answer."""
    response = await litellm.acompletion(
        messages=MESSAGES, stream=True, max_tokens=MAX_TOKENS, **kwargs
    )
    first = 0.0
    async for _chunk in response:
        first = first or time.perf_counter()
    return first


def _router_round(litellm: Any, cold: bool) -> tuple[float, int]:
    """Seconds for CALLS concurrent calls through the two-deployment Router; successes."""
    with _emulator(NEVER_S if cold else None) as (_, params):
        first = COLD_MODEL if cold else WARM_MODEL
        models = (first, "sagemaker_openai/warm-ep")
        model_list = [{"model_name": "chat", "litellm_params": {"model": m, **params}}
                      for m in models]  # fmt: skip
        router = litellm.Router(model_list=model_list, num_retries=2)

        async def one() -> bool:
            try:
                await router.acompletion(model="chat", messages=MESSAGES)
            except Exception:
                return False
            return True

        async def burst() -> list[bool]:
            return list(await asyncio.gather(*[one() for _ in range(CALLS)]))

        start = time.perf_counter()
        ok = asyncio.run(burst())
        return time.perf_counter() - start, sum(ok)


def _wait_round(litellm: Any, provisioning: float | None) -> tuple[float, int, float]:
    """Seconds from the first call to the last waiter's first chunk; refused calls counted."""
    with _emulator(provisioning) as (app, params):
        model = COLD_MODEL if provisioning is not None else WARM_MODEL

        async def waiters() -> list[float]:
            kwargs = {"model": model, "wait_for_capacity": 60, **params}
            return list(await asyncio.gather(*[_stream(litellm, **kwargs) for _ in range(WAITERS)]))

        start = time.perf_counter()
        ends = asyncio.run(waiters())
        capacity = app.state.capacity
        return max(ends) - start, int(capacity.refused[COLD]), capacity.noticed_after.get(COLD, 0.0)


def run(opts: Options) -> Result:
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    import litellm_sagemaker_openai

    litellm.suppress_debug_info = True
    litellm_sagemaker_openai.register()
    rounds = opts.rounds
    _router_round(litellm, cold=False)  # warm-up: imports, first mint
    router: dict[str, list[float]] = {"cold": [], "warm": [], "ok": []}
    wait: dict[str, list[float]] = {"cold": [], "warm": [], "refused": [], "noticed": []}
    for _ in range(rounds):
        seconds, ok = _router_round(litellm, cold=True)
        router["cold"].append(seconds)
        router["ok"].append(ok)
        router["warm"].append(_router_round(litellm, cold=False)[0])
        seconds, refused, noticed = _wait_round(litellm, PROVISION_S)
        wait["cold"].append(seconds)
        wait["refused"].append(refused)
        wait["noticed"].append(noticed)
        wait["warm"].append(_wait_round(litellm, None)[0])
    result = Result(
        id="scale_from_zero",
        what=f"a Router with one of two deployments scaled to zero ({CALLS} calls); "
        f"{WAITERS} async streams waiting for a component that provisions in {PROVISION_S:g} s",
        target=f"{CALLS} of {CALLS} Router calls succeed; the last waiter ends within "
        f"{TARGET}x the provisioning time",
        met=None,
    )
    result.figure("router_successes", router["ok"], "calls")
    result.figure("router_one_cold", [1e3 * s for s in router["cold"]], "ms")
    result.figure("router_both_warm", [1e3 * s for s in router["warm"]], "ms")
    result.figure("wait_last_waiter", [1e3 * s for s in wait["cold"]], "ms")
    result.figure("wait_warm_floor", [1e3 * s for s in wait["warm"]], "ms")
    result.figure("wait_refused_calls", wait["refused"], "calls")
    result.figure("wait_first_probe_after_scale_out", [1e3 * s for s in wait["noticed"]], "ms")
    slow = result.add_ratio(
        "router one cold/both warm",
        [c / w for c, w in zip(router["cold"], router["warm"], strict=True)],
    )
    last = result.add_ratio("last waiter/provisioning", [s / PROVISION_S for s in wait["cold"]])
    # What the wait itself adds: the last waiter's time less what 50 streams take when warm.
    own = result.add_ratio(
        "(last waiter - warm floor)/provisioning",
        [(c - w) / PROVISION_S for c, w in zip(wait["cold"], wait["warm"], strict=True)],
    )
    result.met = min(router["ok"]) == CALLS and last["median"] <= TARGET
    result.summary = (
        f"Router: {min(router['ok']):.0f}/{CALLS} at worst, {slow['median']:.2f}x the all-warm "
        f"time; last of {WAITERS} waiters at {last['median']:.2f}x the {PROVISION_S:g} s "
        f"provisioning, {own['median']:.2f}x less the warm floor of "
        f"{result.figures['wait_warm_floor']['median']:.0f} ms; "
        f"{result.figures['wait_refused_calls']['median']:.0f} refused calls, first probe "
        f"{result.figures['wait_first_probe_after_scale_out']['median']:.0f} ms after the "
        "scale-out"
    )
    result.notes = (
        "In-process emulators addressed by hostname, a fresh one per round. The last waiter's "
        "time is to its first chunk and includes opening the 50 streams once the component "
        "serves (the warm floor); refused calls are the first wave of 50 plus one probe per "
        "pause. Ratios per round; a loaded 2-core machine inflates the floor."
    )
    return result
