"""sagemaker_chat: LiteLLM's built-in ``sagemaker_chat/`` through the emulator, vs the plugin.

Latency side by side (``/invocations`` and ``/invocations-response-stream`` with SigV4 for
``sagemaker_chat/``, the OpenAI route with a bearer token for the plugin), and a list of
what ``sagemaker_chat/`` cannot do, each item established by trying it.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any, Final

from bench._chat_caps import CHAT_MODEL, capabilities, chat_kwargs
from bench._core import Options, Result, interleave, ratios
from bench._servers import MESSAGES, PLUGIN_MODEL, litellm_ready, server_process

STREAM_TOKENS: Final = 100


def run(opts: Options) -> Result:
    litellm = litellm_ready()
    n_plain, n_stream = opts.n(30, 10), opts.n(6, 3)
    long = [{"role": "user", "content": " ".join(["w"] * (STREAM_TOKENS + 20))}]
    with server_process() as server:
        plugin = server.plugin_kwargs()
        plain_kw, stream_kw = (
            chat_kwargs(server, "invocations"),
            chat_kwargs(server, "invocations-response-stream"),
        )

        def nonstream(model: str, kw: dict[str, Any]) -> Callable[[], Any]:
            return lambda: litellm.completion(model=model, messages=MESSAGES, max_tokens=16, **kw)

        def stream(model: str, kw: dict[str, Any]) -> Callable[[], Any]:
            return lambda: sum(
                1
                for _ in litellm.completion(
                    model=model, messages=long, max_tokens=STREAM_TOKENS, stream=True, **kw
                )
            )

        calls = {
            "nonstream_plugin": (nonstream(PLUGIN_MODEL, plugin), n_plain),
            "nonstream_sagemaker_chat": (nonstream(CHAT_MODEL, plain_kw), n_plain),
            "stream_plugin": (stream(PLUGIN_MODEL, plugin), n_stream),
            "stream_sagemaker_chat": (stream(CHAT_MODEL, stream_kw), n_stream),
        }

        def batch(fn: Callable[[], Any], n: int) -> float:
            walls = []
            for _ in range(n):
                start = time.perf_counter()
                fn()
                walls.append(time.perf_counter() - start)
            return 1e3 * statistics.median(walls)

        rounds = interleave(
            {k: functools.partial(batch, f, n) for k, (f, n) in calls.items()}, opts.rounds
        )
        rows = capabilities(server)
    result = Result(
        id="sagemaker_chat",
        what="LiteLLM's sagemaker_chat/ (SigV4, /invocations) vs the plugin, and what it cannot do",
        target="report only",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(f"{name}_latency", values, "ms")
    plain = result.add_ratio(
        "nonstream sagemaker_chat/plugin",
        ratios(rounds["nonstream_sagemaker_chat"], rounds["nonstream_plugin"]),
    )
    streamed = result.add_ratio(
        "stream sagemaker_chat/plugin",
        ratios(rounds["stream_sagemaker_chat"], rounds["stream_plugin"]),
    )
    cannot = [r["capability"] for r in rows if not r["sagemaker_chat"].startswith("ok")]
    result.extra = {"capabilities": rows}
    result.summary = (
        f"sagemaker_chat/ is {plain['median']:.2f}x the plugin non-stream, "
        f"{streamed['median']:.2f}x on a {STREAM_TOKENS}-token stream; cannot: " + "; ".join(cannot)
    )
    result.notes = (
        "Same emulator + reference subprocess. sagemaker_chat/ signs SigV4 and calls "
        "/endpoints/<ep>/invocations (non-stream) or /invocations-response-stream (AWS event "
        "stream); the plugin calls the OpenAI route with its cached bearer token. Per round "
        f"{n_plain} non-stream calls (16 tokens) and {n_stream} streams of {STREAM_TOKENS} tokens "
        "per path, interleaved, median per round. extra.capabilities: each row was tried "
        "against the emulator in this run; 'fails:' shows the exception LiteLLM raised, "
        "'missing:' what the chunks lacked."
    )
    return result
