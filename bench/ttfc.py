"""stream_ttfc: time from the call to the first chunk in the caller's hands, plugin vs openai/."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from bench._core import Options, Result, interleave, ratios
from bench._servers import MESSAGES, OPENAI_MODEL, PLUGIN_MODEL, litellm_ready, server_process

TARGET: Final = 1.0
MAX_TOKENS: Final = 16


def _first(
    start: float, chunks: Iterable[Any], content: Callable[[Any], bool]
) -> tuple[float, float]:
    """Seconds to the first chunk and to the first chunk with content; drains the stream."""
    first = first_content = 0.0
    for chunk in chunks:
        now = time.perf_counter()
        if not first:
            first = now - start
        if not first_content and content(chunk):
            first_content = now - start
    return first, first_content


def _has_content(chunk: Any) -> bool:
    return bool(chunk.choices and chunk.choices[0].delta.content)


def run(opts: Options) -> Result:
    import httpx

    litellm = litellm_ready()
    n = opts.n(30, 10)
    with server_process() as server:
        plugin_kwargs, openai_kwargs = server.plugin_kwargs(), server.openai_kwargs()
        token = openai_kwargs["api_key"]
        client = httpx.Client(timeout=30)
        url = f"{server.route}/chat/completions"
        body = {
            "model": "",
            "messages": MESSAGES,
            "max_tokens": MAX_TOKENS,
            "stream": True,
            "stream_options": {"include_usage": True},
        }

        def plugin() -> tuple[float, float]:
            start = time.perf_counter()
            stream = litellm.completion(
                model=PLUGIN_MODEL,
                messages=MESSAGES,
                stream=True,
                max_tokens=MAX_TOKENS,
                **plugin_kwargs,
            )
            return _first(start, stream, _has_content)

        def openai() -> tuple[float, float]:
            start = time.perf_counter()
            stream = litellm.completion(
                model=OPENAI_MODEL,
                messages=MESSAGES,
                stream=True,
                max_tokens=MAX_TOKENS,
                **openai_kwargs,
            )
            return _first(start, stream, _has_content)

        def raw_httpx() -> tuple[float, float]:
            start = time.perf_counter()
            headers = {"Authorization": f"Bearer {token}"}
            with client.stream("POST", url, json=body, headers=headers) as response:
                lines = (line for line in response.iter_lines() if line.startswith("data: {"))
                return _first(
                    start, lines, lambda line: '"content":"' in line and '"content":""' not in line
                )

        content: dict[str, list[float]] = {"plugin": [], "openai": [], "raw_httpx": []}

        def batch(name: str, fn: Callable[[], tuple[float, float]]) -> float:
            pairs = [fn() for _ in range(n)]
            content[name].append(1e3 * statistics.median(p[1] for p in pairs))
            return 1e3 * statistics.median(p[0] for p in pairs)

        rounds = interleave(
            {
                name: functools.partial(batch, name, fn)
                for name, fn in (("plugin", plugin), ("openai", openai), ("raw_httpx", raw_httpx))
            },
            opts.rounds,
        )
    result = Result(
        id="stream_ttfc",
        what="sync stream: time to the first chunk the caller gets, plugin vs openai/",
        target=f"plugin <= {TARGET}x openai/",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(f"{name}_first_chunk", values, "ms")
        result.figure(f"{name}_first_content", content[name][1:], "ms")
    ratio = result.add_ratio("plugin/openai", ratios(rounds["plugin"], rounds["openai"]))
    result.add_ratio(
        "plugin/openai first content",
        ratios(content["plugin"][1:], content["openai"][1:]),
    )
    result.met = ratio["median"] <= TARGET
    fig = result.figures
    result.summary = (
        f"{ratio['median']:.2f}x openai/ ({fig['plugin_first_chunk']['median']:.2f} vs "
        f"{fig['openai_first_chunk']['median']:.2f} ms; raw httpx "
        f"{fig['raw_httpx_first_chunk']['median']:.2f} ms)"
    )
    result.notes = (
        f"Server: emulator + reference in a subprocess, delays 0, so this is client and route "
        f"overhead only. {n} streams per path per round (median), interleaved; each stream is "
        "drained. first_chunk = the first object the caller's loop receives (the role chunk); "
        "first_content = the first chunk with non-empty delta.content."
    )
    return result
