"""nonstream_overhead: sync ``litellm.completion``, plugin vs ``openai/`` vs raw httpx."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any, Final

from bench._core import Options, Result, interleave, ms, ratios
from bench._servers import (
    MESSAGES,
    OPENAI_MODEL,
    PLUGIN_MODEL,
    Server,
    drain_logging,
    litellm_ready,
    server_process,
)

TARGET: Final = 1.0
MAX_TOKENS: Final = 16


def cases(server: Server) -> dict[str, Callable[[], Any]]:
    """One call of each path, the same request against the same route."""
    import httpx

    litellm = litellm_ready()
    plugin_kwargs = server.plugin_kwargs()
    openai_kwargs = server.openai_kwargs()
    token = openai_kwargs["api_key"]
    client = httpx.Client(timeout=30)
    url = f"{server.route}/chat/completions"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"model": "", "messages": MESSAGES, "max_tokens": MAX_TOKENS}

    def plugin() -> Any:
        return litellm.completion(
            model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, **plugin_kwargs
        )

    def plugin_static_token() -> Any:
        return litellm.completion(
            model=PLUGIN_MODEL,
            messages=MESSAGES,
            max_tokens=MAX_TOKENS,
            api_base=server.base,
            api_key=token,
            aws_region_name="us-east-1",
        )

    def openai() -> Any:
        return litellm.completion(
            model=OPENAI_MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, **openai_kwargs
        )

    def raw_httpx() -> Any:
        response = client.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    return {
        "plugin": plugin,
        "openai": openai,
        "raw_httpx": raw_httpx,
        "plugin_static_token": plugin_static_token,
    }


def _batch(fn: Callable[[], Any], n: int, cpu: list[float]) -> float:
    """Median wall ms of ``n`` calls; appends the mean process CPU ms per call to ``cpu``."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    drain_logging()
    cpu.append(ms(time.process_time() - cpu0) / n)
    return ms(statistics.median(walls))


def run(opts: Options) -> Result:
    n = opts.n(40, 12)
    with server_process() as server:
        calls = cases(server)
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        rounds = interleave(
            {name: functools.partial(_batch, fn, n, cpu[name]) for name, fn in calls.items()},
            opts.rounds,
            warmup=1,
        )
    result = Result(
        id="nonstream_overhead",
        what="sync litellm.completion: plugin vs openai/ (same route, static token) vs raw httpx",
        target=f"plugin / openai/ <= {TARGET}",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(f"{name}_latency", values, "ms")
    for name, values in cpu.items():
        result.figure(f"{name}_cpu", values[1:], "ms")  # the first batch was the warm-up
    ratio = result.add_ratio("plugin/openai", ratios(rounds["plugin"], rounds["openai"]))
    result.add_ratio("plugin/raw_httpx", ratios(rounds["plugin"], rounds["raw_httpx"]))
    result.add_ratio("openai/raw_httpx", ratios(rounds["openai"], rounds["raw_httpx"]))
    result.add_ratio("plugin_cpu/openai_cpu", ratios(cpu["plugin"][1:], cpu["openai"][1:]))
    result.met = ratio["median"] <= TARGET
    fig = result.figures
    result.summary = (
        f"{ratio['median']:.2f}x openai/ ({fig['plugin_latency']['median']:.2f} vs "
        f"{fig['openai_latency']['median']:.2f} ms; "
        f"raw httpx {fig['raw_httpx_latency']['median']:.2f} ms)"
    )
    result.notes = (
        f"Server: emulator + reference in a subprocess (delays 0), so its CPU is not the "
        f"client's. Each round: {n} calls per path, interleaved; a round's figure is the median "
        "latency; ratios are per round. *_cpu = mean process CPU per call (all client threads, "
        "LiteLLM's logging pool drained). openai/ uses api_base=<route>/openai/v1 and a static "
        "minted token; plugin_static_token passes a pre-minted token to the plugin (no cache)."
    )
    return result
