"""stream_pacing: at 20 ms between tokens, how long each chunk takes from server to caller."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from bench._core import Options, Result, interleave, percentile
from bench._servers import OPENAI_MODEL, PLUGIN_MODEL, litellm_ready, server_process

TARGET_P99_MS: Final = 5.0
ITL_MS: Final = 20.0
STARTUP_CHUNKS: Final = 2  # role + first token leave together, before the caller iterates


def _delays(chunks: Iterable[Any], sent_at: Callable[[Any], float | None]) -> list[float]:
    """Milliseconds from each chunk's server stamp to its arrival in this loop."""
    out = []
    for chunk in chunks:
        now = time.time()
        stamp = sent_at(chunk)
        if stamp is not None:
            out.append((now - stamp) * 1e3)
    return out


def run(opts: Options) -> Result:
    import httpx

    litellm = litellm_ready()
    tokens = opts.n(150, 30)
    messages = [{"role": "user", "content": " ".join(["w"] * (tokens + 20))}]
    samples: dict[str, list[float]] = {"plugin": [], "openai": [], "raw_httpx": []}
    startup: dict[str, list[float]] = {name: [] for name in samples}
    with server_process(itl_ms=ITL_MS, stamp_sent_at=True) as server:
        plugin_kwargs, openai_kwargs = server.plugin_kwargs(), server.openai_kwargs()
        token = openai_kwargs["api_key"]
        client = httpx.Client(timeout=30)
        url = f"{server.route}/chat/completions"
        body = {
            "model": "",
            "messages": messages,
            "max_tokens": tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

        def plugin() -> list[float]:
            stream = litellm.completion(
                model=PLUGIN_MODEL,
                messages=messages,
                stream=True,
                max_tokens=tokens,
                **plugin_kwargs,
            )
            return _delays(stream, lambda c: getattr(c, "sent_at", None))

        def openai() -> list[float]:
            stream = litellm.completion(
                model=OPENAI_MODEL,
                messages=messages,
                stream=True,
                max_tokens=tokens,
                **openai_kwargs,
            )
            return _delays(stream, lambda c: getattr(c, "sent_at", None))

        def raw_httpx() -> list[float]:
            with client.stream(
                "POST", url, json=body, headers={"Authorization": f"Bearer {token}"}
            ) as r:
                lines = (line for line in r.iter_lines() if line.startswith("data: {"))
                return _delays(lines, lambda line: json.loads(line[6:]).get("sent_at"))

        def measure(name: str, fn: Callable[[], list[float]]) -> float:
            delays = fn()
            startup[name].extend(delays[:STARTUP_CHUNKS])
            steady = delays[STARTUP_CHUNKS:]
            samples[name].extend(steady)
            return percentile(steady, 99)

        for name in samples:  # warm-up streams, not recorded
            _ = {"plugin": plugin, "openai": openai, "raw_httpx": raw_httpx}[name]()
        rounds = interleave(
            {
                name: functools.partial(measure, name, fn)
                for name, fn in (("plugin", plugin), ("openai", openai), ("raw_httpx", raw_httpx))
            },
            opts.rounds,
            warmup=0,
        )
    result = Result(
        id="stream_pacing",
        what=f"itl {ITL_MS:.0f} ms: delay from a chunk leaving the container to reaching the "
        "caller, p50/p99",
        target=f"plugin p99 <= {TARGET_P99_MS} ms (no buffering)",
        met=None,
    )
    for name, values in rounds.items():
        pooled = samples[name]
        result.figure(f"{name}_p99_per_round", values, "ms")
        result.figure(f"{name}_p50_pooled", [percentile(pooled, 50)], "ms")
        result.figure(f"{name}_p99_pooled", [percentile(pooled, 99)], "ms")
        result.figure(f"{name}_max_pooled", [max(pooled)], "ms")
        result.figure(f"{name}_startup_chunks", startup[name], "ms")
    fig = result.figures
    p99 = fig["plugin_p99_pooled"]["median"]
    result.met = p99 <= TARGET_P99_MS
    result.summary = (
        f"plugin p50 {fig['plugin_p50_pooled']['median']:.2f} / p99 {p99:.2f} ms; openai/ "
        f"{fig['openai_p50_pooled']['median']:.2f} / {fig['openai_p99_pooled']['median']:.2f} "
        f"ms; raw httpx {fig['raw_httpx_p50_pooled']['median']:.2f} / "
        f"{fig['raw_httpx_p99_pooled']['median']:.2f} ms"
    )
    result.notes = (
        f"Server: emulator + reference (itl_ms={ITL_MS:.0f}, stamp_sent_at) in a subprocess; the "
        "reference stamps each SSE chunk with its wall-clock send time, the caller subtracts it "
        f"from time.time() on receipt. One {tokens}-token stream per path per round, "
        "interleaved, after one warm-up stream each. *_pooled = every chunk of every round. The "
        f"first {STARTUP_CHUNKS} chunks of each stream (role + first token, written together at "
        "the start, before litellm.completion() has returned) are reported apart as "
        "*_startup_chunks: they measure stream set-up (see stream_ttfc), not buffering. The "
        "plugin's final usage chunk is built by the plugin and carries no stamp."
    )
    return result
