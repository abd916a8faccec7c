"""``python -m bench.profile [--only ID ...]``: pyinstrument profiles of the plugin's hot paths.

Writes ``bench/profiles/<id>.txt``: who owns the time (the plugin, LiteLLM, or the harness),
self time by library, and pyinstrument's call tree trimmed to its top lines. pyinstrument
samples the calling thread only: work LiteLLM hands to its logging thread pool is not in
these trees (``stream_per_chunk`` in results.json measures it as process CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from bench._servers import MESSAGES, PLUGIN_MODEL, Server, litellm_ready, server_process

OUT: Final = Path(__file__).with_name("profiles")
TREE_LINES: Final = 60
INTERVAL_S: Final = 0.0002
# Show LiteLLM's and the plugin's own frames in the tree; collapse everything else.
SHOW: Final = r".*(litellm|litellm_sagemaker_openai)/.*"


def owner(path: str) -> str | None:
    if "litellm_sagemaker_openai" in path:
        return "plugin"
    if re.search(r"[/\\]litellm[/\\]", path):
        return "litellm"
    return None


def library(path: str) -> str:
    match = re.search(r"site-packages[/\\]([A-Za-z0-9_]+)", path)
    if match:
        return match.group(1)
    if "litellm_sagemaker_openai" in path:
        return "litellm_sagemaker_openai"
    if "/bench/" in path:
        return "bench harness"
    if path == "<built-in>":
        return "built-ins (C functions)"
    return "python stdlib" if path.startswith("/") else path or "unknown"


WAIT: Final = re.compile(r"recv|select|poll|sleep|acquire|wait")
WAITING: Final = "waiting (socket, select, sleep, lock): not CPU"


def attribute(root: Any) -> tuple[dict[str, float], dict[str, float], float]:
    """Self time by innermost owner (plugin / litellm / harness) and by library of the frame.

    Samples are wall-clock: time blocked in a built-in recv/select/sleep/lock is split out
    as waiting, so the owners' shares are CPU work.
    """
    by_owner: dict[str, float] = defaultdict(float)
    by_library: dict[str, float] = defaultdict(float)
    stack = [(root, "harness (bench code)", "", "")]
    while stack:
        frame, current, parent_path, parent_function = stack.pop()
        # pyinstrument keeps self time in synthetic "[self]" children: bill their parent.
        path = parent_path if frame.is_synthetic else frame.file_path or ""
        function = parent_function if frame.is_synthetic else frame.function or ""
        current = owner(path) or current
        self_time = frame.time - sum(child.time for child in frame.children)
        if self_time > 0:
            waiting = path == "<built-in>" and WAIT.search(function)
            by_owner[WAITING if waiting else current] += self_time
            by_library[WAITING if waiting else library(path)] += self_time
        stack.extend((child, current, path, function) for child in frame.children)
    return by_owner, by_library, root.time


def table(title: str, parts: dict[str, float], total: float, limit: int = 10) -> list[str]:
    lines = [title]
    for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"  {100 * seconds / total:5.1f}%  {seconds:8.3f} s  {name}")
    return lines


def profile(bench_id: str, what: str, work: Callable[[], Any], async_work: bool = False) -> str:
    from pyinstrument import Profiler

    profiler = Profiler(interval=INTERVAL_S, async_mode="disabled")
    profiler.start()
    try:
        if async_work:
            asyncio.run(work())
        else:
            work()
    finally:
        profiler.stop()
    session = profiler.last_session
    assert session is not None
    by_owner, by_library, total = attribute(session.root_frame())
    tree = profiler.output_text(
        unicode=False, color=False, processor_options={"show_regex": SHOW}
    ).splitlines()
    tree = [line for line in tree if line.strip()][:TREE_LINES]
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    header = [
        f"# {bench_id}: {what}",
        f"# pyinstrument, {INTERVAL_S * 1e3:.1f} ms sampling, calling thread only; {stamp}",
        f"# regenerate: .venv/bin/python -m bench.profile --only {bench_id}",
        "",
        *table(
            "Self time by innermost owner (plugin = plugin code and the libraries it calls):",
            by_owner,
            total,
        ),
        "",
        *table("Self time by library of the sampled frame:", by_library, total),
        "",
        f"Call tree (top {TREE_LINES} lines; LiteLLM and plugin frames shown, others collapsed):",
    ]
    text = "\n".join(header + tree) + "\n"
    OUT.mkdir(exist_ok=True)
    (OUT / f"{bench_id}.txt").write_text(text)
    return text


def _nonstream(server: Server, calls: int) -> Callable[[], Any]:
    litellm = litellm_ready()
    kwargs = server.plugin_kwargs()

    def work() -> None:
        for _ in range(calls):
            litellm.completion(model=PLUGIN_MODEL, messages=MESSAGES, max_tokens=16, **kwargs)

    return work


def _stream(server: Server, streams: int) -> Callable[[], Any]:
    from bench.stream import stream_cases

    plugin = stream_cases(server)["plugin"]

    def work() -> None:
        for _ in range(streams):
            plugin()

    return work


def main(argv: list[str] | None = None) -> int:
    from bench._burst import burst, litellm_opener
    from bench.concurrency import ITL_MS, SPREAD_S, STREAMS

    ids = ("nonstream_overhead", "stream_per_chunk", "concurrency")
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=ids, default=list(ids))
    args = parser.parse_args(argv)
    litellm_ready()
    with server_process() as server:
        if "nonstream_overhead" in args.only:
            _nonstream(server, 20)()  # warm-up
            profile(
                "nonstream_overhead",
                "200 sync litellm.completion calls through the plugin",
                _nonstream(server, 200),
            )
        if "stream_per_chunk" in args.only:
            _stream(server, 1)()
            profile(
                "stream_per_chunk",
                "5 sync 500-chunk streams through the plugin",
                _stream(server, 5),
            )
    if "concurrency" in args.only:
        with server_process(itl_ms=ITL_MS) as server:
            opener = litellm_opener(PLUGIN_MODEL, server.plugin_kwargs())

            async def bursts() -> None:
                await burst(opener, 1, 4)  # token minted, client built before the burst
                await burst(opener, STREAMS, 10, stagger_s=SPREAD_S / STREAMS)

            profile(
                "concurrency",
                f"one burst of {STREAMS} concurrent async plugin streams "
                f"(10 tokens, itl {ITL_MS:.0f} ms, spread), whole event-loop thread",
                bursts,
                async_work=True,
            )
    print(f"wrote {', '.join(str(OUT / f'{i}.txt') for i in args.only)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
