"""stream_per_chunk: client CPU per chunk of a 500-chunk stream, plugin vs openai/ vs raw httpx."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Final

from bench._core import Options, Result, interleave, ratios
from bench._servers import (
    LONG_MAX_TOKENS,
    LONG_MESSAGES,
    OPENAI_MODEL,
    PLUGIN_MODEL,
    REGION,
    Server,
    drain_logging,
    litellm_ready,
    server_process,
)

TARGET: Final = 0.5
USAGE: Final = {"include_usage": True}


def stream_cases(server: Server) -> dict[str, Callable[[], int]]:
    """Each consumes one whole 500-chunk stream and returns how many chunks it received."""
    import httpx
    import openai as openai_sdk

    from litellm_sagemaker_openai import handler

    litellm = litellm_ready()
    plugin_kwargs = server.plugin_kwargs()
    openai_kwargs = server.openai_kwargs()
    token = openai_kwargs["api_key"]
    client = httpx.Client(timeout=30)
    sdk = openai_sdk.OpenAI(base_url=server.route, api_key=token, max_retries=0)
    url = f"{server.route}/chat/completions"
    body = {
        "model": "",
        "messages": LONG_MESSAGES,
        "max_tokens": LONG_MAX_TOKENS,
        "stream": True,
        "stream_options": USAGE,
    }

    def plugin() -> int:
        stream = litellm.completion(
            model=PLUGIN_MODEL,
            messages=LONG_MESSAGES,
            stream=True,
            max_tokens=LONG_MAX_TOKENS,
            **plugin_kwargs,
        )
        return sum(1 for _ in stream)

    def openai() -> int:
        stream = litellm.completion(
            model=OPENAI_MODEL,
            messages=LONG_MESSAGES,
            stream=True,
            max_tokens=LONG_MAX_TOKENS,
            stream_options=USAGE,
            **openai_kwargs,
        )
        return sum(1 for _ in stream)

    def raw_httpx_json() -> int:
        count = 0
        with client.stream(
            "POST", url, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    json.loads(line[6:])
                    count += 1
        return count

    def plugin_layer_only() -> int:
        # The plugin's own work without LiteLLM around it: SSE decode + ModelResponseStream.
        chunks = handler.streaming(
            model=PLUGIN_MODEL.split("/", 1)[1],
            messages=LONG_MESSAGES,
            optional_params={"max_tokens": LONG_MAX_TOKENS},
            litellm_params={"aws_region_name": REGION},
            api_base=server.base,
            api_key=token,
            logging_obj=None,
            headers=None,
            timeout=30,
        )
        return sum(1 for _ in chunks)

    def openai_sdk_only() -> int:
        # What LiteLLM's openai/ path runs underneath: the OpenAI SDK's own stream.
        stream = sdk.chat.completions.create(
            model="",
            messages=LONG_MESSAGES,
            stream=True,  # type: ignore[call-overload]
            max_tokens=LONG_MAX_TOKENS,
            stream_options=USAGE,
        )
        return sum(1 for _ in stream)

    def without_stream_logging(fn: Callable[[], int]) -> Callable[[], int]:
        # LiteLLM's per-chunk success logging (asyncio.run per chunk on its logging pool, in
        # sync streams) switched off, to show the part of the cost that is LiteLLM's floor.
        def call() -> int:
            litellm.disable_streaming_logging = True
            try:
                return fn()
            finally:
                litellm.disable_streaming_logging = False

        return call

    return {
        "plugin": plugin,
        "openai": openai,
        "raw_httpx_json": raw_httpx_json,
        "plugin_layer_only": plugin_layer_only,
        "openai_sdk_only": openai_sdk_only,
        "plugin_no_chunk_logging": without_stream_logging(plugin),
        "openai_no_chunk_logging": without_stream_logging(openai),
    }


def measure(fn: Callable[[], int], streams: int, out: dict[str, list[float]]) -> float:
    """CPU us per chunk over ``streams`` streams (process CPU: every client thread)."""
    cpu = wall = main = 0.0
    chunks = 0
    for _ in range(streams):
        cpu0, wall0, main0 = time.process_time(), time.perf_counter(), time.thread_time()
        chunks += fn()
        wall += time.perf_counter() - wall0
        main += time.thread_time() - main0
        drain_logging()  # LiteLLM logs each chunk on a thread pool: bill that work here
        cpu += time.process_time() - cpu0
    out["wall_ms"].append(wall * 1e3 / streams)
    out["chunks"].append(chunks / streams)
    out["main_us"].append(main * 1e6 / chunks)
    return cpu * 1e6 / chunks


def run(opts: Options) -> Result:
    streams = opts.n(2, 1)
    with server_process() as server:
        calls = stream_cases(server)
        extra: dict[str, dict[str, list[float]]] = {
            name: {"wall_ms": [], "chunks": [], "main_us": []} for name in calls
        }
        rounds = interleave(
            {
                name: functools.partial(measure, fn, streams, extra[name])
                for name, fn in calls.items()
            },
            opts.rounds,
        )
    result = Result(
        id="stream_per_chunk",
        what="client CPU per chunk, sync 500-chunk stream: plugin vs openai/ vs raw httpx + json",
        target=f"plugin <= {TARGET}x openai/",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(f"{name}_cpu_per_chunk", values, "us")
        result.figure(f"{name}_main_thread_cpu_per_chunk", extra[name]["main_us"][1:], "us")
        result.figure(f"{name}_stream_wall", extra[name]["wall_ms"][1:], "ms")
        result.figure(f"{name}_chunks", extra[name]["chunks"][1:], "chunks")
    ratio = result.add_ratio("plugin/openai", ratios(rounds["plugin"], rounds["openai"]))
    result.add_ratio(
        "plugin/openai main thread",
        ratios(extra["plugin"]["main_us"][1:], extra["openai"]["main_us"][1:]),
    )
    result.add_ratio("plugin/raw_httpx_json", ratios(rounds["plugin"], rounds["raw_httpx_json"]))
    result.add_ratio(
        "plugin_layer_only/plugin", ratios(rounds["plugin_layer_only"], rounds["plugin"])
    )
    result.add_ratio("openai_sdk_only/openai", ratios(rounds["openai_sdk_only"], rounds["openai"]))
    no_logging = result.add_ratio(
        "plugin/openai, LiteLLM chunk logging off",
        ratios(rounds["plugin_no_chunk_logging"], rounds["openai_no_chunk_logging"]),
    )
    result.met = ratio["median"] <= TARGET
    fig = result.figures
    main = result.ratio["plugin/openai main thread"]["median"]
    result.summary = (
        f"{ratio['median']:.2f}x openai/ ({fig['plugin_cpu_per_chunk']['median']:.0f} vs "
        f"{fig['openai_cpu_per_chunk']['median']:.0f} us/chunk, all threads); caller's thread "
        f"{main:.2f}x; with LiteLLM's per-chunk logging off {no_logging['median']:.2f}x; plugin "
        f"layer alone {fig['plugin_layer_only_cpu_per_chunk']['median']:.0f} us, raw httpx+json "
        f"{fig['raw_httpx_json_cpu_per_chunk']['median']:.0f} us"
    )
    result.notes = (
        f"Server: emulator + reference in a subprocess (delays 0). {streams} stream(s) per path "
        "per round, interleaved. CPU = time.process_time() of the client process (all threads) "
        "from the call to the last chunk plus the drain of LiteLLM's per-chunk logging pool, "
        "divided by the chunks the caller received (500 content + role + finish + usage); "
        "*_main_thread_cpu_per_chunk counts the caller's thread only (time.thread_time). "
        "plugin_layer_only iterates the handler's own streaming() (SSE decode + "
        "ModelResponseStream) without LiteLLM's CustomStreamWrapper; openai_sdk_only is the "
        "OpenAI SDK stream that LiteLLM's openai/ path wraps. openai/ asks include_usage too, so "
        "both paths get the same events. *_no_chunk_logging: litellm.disable_streaming_logging "
        "= True for that call; in sync streams LiteLLM submits one logging task per chunk that "
        "runs asyncio.run(async_success_handler(...)) on its pool "
        "(streaming_handler.run_success_logging_and_cache_storage), which is most of the gap "
        "between the caller's-thread and all-threads figures, for both paths."
    )
    return result
