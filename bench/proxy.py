"""proxy_overhead: a real ``litellm --config`` proxy, plugin vs ``openai/`` + a static token."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from bench._core import Options, Result, interleave, ratios
from bench._servers import ENDPOINT, MESSAGES, REGION, ROOT, Server, pin, server_process, stop

TARGET: Final = 1.0
MASTER_KEY: Final = "sk-bench-" + "0123456789abcdef" * 2
STARTUP_S: Final = 120.0
STREAM_TOKENS: Final = 100
# `litellm` with the proxy's modules moved out of the garbage collector's reach before it serves,
# and again on SIGUSR1 (after the first requests have imported what LiteLLM loads lazily): a full
# collection then walks what was allocated since, not LiteLLM's ~700k objects (docs/performance.md).
GC_FREEZE_LAUNCHER: Final = (
    "import gc, signal, sys; import litellm.proxy.proxy_server; gc.freeze(); "
    "signal.signal(signal.SIGUSR1, lambda *_: gc.freeze()); "
    "from litellm.proxy.proxy_cli import run_server; sys.argv[0] = 'litellm'; run_server()"
)
# Prepended by benchmarks: each full (generation 2) collection appends "<epoch> <pause ms>" to
# the file named by $BENCH_GC_LOG.
GC_LOG_HOOK: Final = """\
import gc, os, time
_log, _start = open(os.environ["BENCH_GC_LOG"], "a", buffering=1), [0.0]
def _on_gc(phase, info):
    if info["generation"] == 2:
        if phase == "start":
            _start[0] = time.perf_counter()
        else:
            _log.write(f"{time.time():.3f} {(time.perf_counter() - _start[0]) * 1e3:.2f}\\n")
gc.callbacks.append(_on_gc)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deployments(server: Server) -> list[dict[str, Any]]:
    """The two deployments every proxy benchmark compares, on the same route."""
    return [
        {
            "model_name": "plugin",
            "litellm_params": {
                "model": f"sagemaker_openai/{ENDPOINT}",
                "api_base": server.base,
                "aws_region_name": REGION,
                "aws_access_key_id": server.creds.access_key_id,
                "aws_secret_access_key": server.creds.secret_access_key,
            },
        },
        {
            "model_name": "openai",
            "litellm_params": {
                "model": "openai/",
                "api_base": server.route,
                "api_key": server.static_token(),
            },
        },
    ]


@contextlib.contextmanager
def proxy_process(
    model_list: list[dict[str, Any]],
    cpus: set[int] | None = None,
    gc_freeze: bool = False,
    gc_log: Path | None = None,
    extra_env: dict[str, str] | None = None,
    extra_providers: list[dict[str, str]] | None = None,
    preamble: str = "",
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One ``litellm --config`` proxy worker serving ``model_list``; yields (base URL, process).

    ``gc_freeze`` starts it through :data:`GC_FREEZE_LAUNCHER`; ``gc_log`` (with ``gc_freeze``)
    records its full collections there; ``extra_env`` is added to the proxy's environment and
    ``extra_providers`` to its ``custom_provider_map`` (the project root is on its path);
    ``preamble`` (Python, with ``gc_freeze``) runs in the proxy before LiteLLM is frozen.
    """
    import httpx

    config = {
        "model_list": model_list,
        "litellm_settings": {
            "custom_provider_map": [
                {
                    "provider": "sagemaker_openai",
                    "custom_handler": "litellm_sagemaker_openai.handler",
                },
                *(extra_providers or []),
            ]
        },
    }
    with tempfile.TemporaryDirectory(prefix="smo-bench-proxy-") as tmp:
        work = Path(tmp)
        (work / "config.yaml").write_text(json.dumps(config))  # JSON is valid YAML
        port = _free_port()
        env = {
            **os.environ,
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "DISABLE_SCHEMA_UPDATE": "true",
            **(extra_env or {}),
        }
        if extra_providers:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if gc_log is not None:
            env["BENCH_GC_LOG"] = str(gc_log)
        hook = (GC_LOG_HOOK if gc_log is not None else "") + preamble
        cli = Path(sys.executable).with_name("litellm")
        launch = [sys.executable, "-c", hook + GC_FREEZE_LAUNCHER] if gc_freeze else [str(cli)]
        log = (work / "proxy.log").open("w")
        proc = subprocess.Popen(
            [
                *launch,
                "--config",
                str(work / "config.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=pin(cpus),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_S
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (work / "proxy.log").read_text()[-2000:]
                    raise RuntimeError(f"litellm proxy did not start: {tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                        break
                time.sleep(0.3)
            yield base, proc
        finally:
            stop(proc)
            log.close()


@contextlib.contextmanager
def litellm_proxy(server: Server) -> Iterator[str]:
    """One ``litellm`` proxy worker with both deployments; yields its base URL."""
    with proxy_process(deployments(server)) as (base, _):
        yield base


def _cases(base: str) -> dict[str, Callable[[], tuple[float, float]]]:
    """(latency, ttfc) seconds of one request per (deployment, mode)."""
    import httpx

    client = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {MASTER_KEY}"})
    url = f"{base}/v1/chat/completions"
    long = [{"role": "user", "content": " ".join(["w"] * (STREAM_TOKENS + 20))}]

    def nonstream(model: str) -> Callable[[], tuple[float, float]]:
        def call() -> tuple[float, float]:
            start = time.perf_counter()
            response = client.post(
                url, json={"model": model, "messages": MESSAGES, "max_tokens": 16}
            )
            response.raise_for_status()
            response.json()
            elapsed = time.perf_counter() - start
            return elapsed, elapsed

        return call

    def stream(model: str) -> Callable[[], tuple[float, float]]:
        body = {"model": model, "messages": long, "max_tokens": STREAM_TOKENS, "stream": True}

        def call() -> tuple[float, float]:
            start = time.perf_counter()
            first = 0.0
            with client.stream("POST", url, json=body) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if not first and line.startswith("data: {"):
                        first = time.perf_counter() - start
            return time.perf_counter() - start, first

        return call

    return {
        f"{mode}_{model}": make(model)
        for mode, make in (("nonstream", nonstream), ("stream", stream))
        for model in ("plugin", "openai")
    }


def run(opts: Options) -> Result:
    n_plain, n_stream = opts.n(30, 10), opts.n(8, 3)
    ttfc: dict[str, list[float]] = {}
    with server_process() as server, litellm_proxy(server) as base:
        cases = _cases(base)

        def batch(name: str) -> float:
            n = n_stream if name.startswith("stream") else n_plain
            pairs = [cases[name]() for _ in range(n)]
            ttfc.setdefault(name, []).append(1e3 * statistics.median(p[1] for p in pairs))
            return 1e3 * statistics.median(p[0] for p in pairs)

        rounds = interleave({name: functools.partial(batch, name) for name in cases}, opts.rounds)
    result = Result(
        id="proxy_overhead",
        what="litellm proxy (1 worker): plugin deployment vs openai/ + static token, same "
        "route, client httpx",
        target=f"plugin / openai/ <= {TARGET} (non-stream and stream)",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(f"{name}_latency", values, "ms")
        if name.startswith("stream"):
            result.figure(f"{name}_ttfc", ttfc[name][1:], "ms")
    plain = result.add_ratio(
        "nonstream plugin/openai", ratios(rounds["nonstream_plugin"], rounds["nonstream_openai"])
    )
    streamed = result.add_ratio(
        "stream plugin/openai", ratios(rounds["stream_plugin"], rounds["stream_openai"])
    )
    result.add_ratio(
        "stream ttfc plugin/openai", ratios(ttfc["stream_plugin"][1:], ttfc["stream_openai"][1:])
    )
    result.met = plain["median"] <= TARGET and streamed["median"] <= TARGET
    fig = result.figures
    result.summary = (
        f"non-stream {plain['median']:.2f}x ({fig['nonstream_plugin_latency']['median']:.1f} vs "
        f"{fig['nonstream_openai_latency']['median']:.1f} ms); {STREAM_TOKENS}-token stream "
        f"{streamed['median']:.2f}x ({fig['stream_plugin_latency']['median']:.0f} vs "
        f"{fig['stream_openai_latency']['median']:.0f} ms)"
    )
    result.notes = (
        "`litellm --config` with --num_workers 1, master key, no DB, default settings; one "
        "config holds both deployments (plugin: aws_* keys + api_base; openai/: api_base=<route>"
        f"/openai/v1 + a minted 12 h token). Server: emulator + reference subprocess, delays 0. "
        f"Per round: {n_plain} non-stream calls and {n_stream} streams of {STREAM_TOKENS} tokens "
        "per deployment, interleaved; figures are per-round medians, ratios per round. Client: "
        "httpx, reading SSE lines."
    )
    return result
