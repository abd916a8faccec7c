"""Load: 1,000 mixed requests at concurrency 50 through proxy, plugin, emulator and reference."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance._emulator import generate_test_credentials, write_credentials_file

MASTER_KEY = "sk-load-" + "0123456789abcdef" * 2
PROMPT = "load test message"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# kind -> (share of requests, model name, stream, tools)
MIX: dict[str, tuple[float, str, bool, bool]] = {
    "nonstream": (0.25, "smo", False, False),
    "stream": (0.25, "smo", True, False),
    "tools": (0.10, "smo", False, True),
    "tools_stream": (0.10, "smo", True, True),
    "ic": (0.15, "smo-ic", False, False),
    "ic_stream": (0.15, "smo-ic", True, False),
}
ACCESS_LINE = re.compile(r"POST (/endpoints/\S+) (\d{3}) [\d.]+ms")


@dataclass
class Result:
    kind: str
    seconds: float
    error: str | None = None


@dataclass
class Processes:
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, command: list[str], log: Path, env: dict[str, str], *, pipe: bool = False
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` with stderr (and stdout unless ``pipe``) appended to ``log``."""
        # A session of its own: the whole group (a proxy's workers too) can be stopped by its id.
        with log.open("ab") as out:
            stdout = subprocess.PIPE if pipe else out
            proc = subprocess.Popen(
                command, stdout=stdout, stderr=out, env=env, start_new_session=True
            )
        self.started.append(proc)
        return proc

    def stop_all(self) -> list[int]:
        """SIGTERM each process group, then SIGKILL what is left; return pids still alive."""
        for proc in reversed(self.started):
            _signal_group(proc.pid, signal.SIGTERM)
        for proc in reversed(self.started):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        time.sleep(0.2)
        return [p.pid for p in self.started if _group_alive(p.pid)]


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":  # pgrp, not a zombie
                return True
    return False


def _script(name: str, module: str) -> list[str]:
    path = Path(sys.executable).with_name(name)
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


def start_emulator(procs: Processes, work: Path, args: argparse.Namespace) -> str:
    creds = work / "credentials.ini"
    write_credentials_file(creds, generate_test_credentials(), region="us-east-1")
    command = [
        *_script("sagemaker-openai-emulator", "conformance._emulator.cli"),
        *("--port", "0", "--reference", "--credentials-file", str(creds)),
        *("--itl-ms", str(args.itl_ms), "--throttle-rate", str(args.throttle_rate)),
        *("--throttle-seed", str(args.seed)),
    ]
    proc = procs.start(command, work / "emulator.log", dict(os.environ), pipe=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)  # bounded wait for the one line
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("listening on "):
        raise RuntimeError(f"emulator did not start: {(work / 'emulator.log').read_text()[-1500:]}")
    return line.removeprefix("listening on ")


def start_proxy(procs: Processes, work: Path, emulator: str, args: argparse.Namespace) -> str:
    params = {"api_base": emulator, "aws_region_name": "us-east-1"}
    deployments = {"smo": "load-endpoint", "smo-ic": "load-endpoint/load-ic"}
    handler = {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}
    config = {
        "model_list": [
            {"model_name": name, "litellm_params": {"model": "sagemaker_openai/" + path, **params}}
            for name, path in deployments.items()
        ],
        "router_settings": {"num_retries": args.num_retries},
        "litellm_settings": {"num_retries": args.num_retries, "custom_provider_map": [handler]},
    }
    (work / "config.yaml").write_text(json.dumps(config))
    port = _free_port()
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "true",
        # The plugin finds the emulator's demo credentials through botocore's default chain.
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "credentials.ini"),
        "AWS_CONFIG_FILE": str(work / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    command = [
        str(Path(sys.executable).with_name("litellm")),
        *("--config", str(work / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)),
        *("--num_workers", str(args.workers)),
    ]
    proc = procs.start(command, work / "proxy.log", env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited: {(work / 'proxy.log').read_text()[-1500:]}")
        try:
            if httpx.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                return base
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("proxy did not start within 120 s")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check(kind: str, status: int, text: str) -> str | None:
    """None when the answer is complete and right, else what is wrong with it."""
    _, _, stream, tools = MIX[kind]
    if status != 200:
        return f"HTTP {status}: {text[:200]}"
    if not stream:
        message = json.loads(text)["choices"][0]["message"]
        if tools:
            calls = message.get("tool_calls") or []
            named = calls and calls[0]["function"]["name"] == "get_weather"
            return None if named else "no tool call"
        return None if message.get("content") == f"You said: {PROMPT}" else f"content {message!r}"
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        return "stream ended without [DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    if any("error" in c for c in chunks):
        return "error event in the stream"
    deltas = [c["choices"][0]["delta"] for c in chunks if c.get("choices")]
    if tools:
        names = [t["function"].get("name") for d in deltas for t in d.get("tool_calls") or []]
        return None if "get_weather" in names else "no tool call in the stream"
    content = "".join(d.get("content") or "" for d in deltas)
    return None if content == f"You said: {PROMPT}" else f"streamed content {content!r}"


async def one(client: httpx.AsyncClient, kind: str) -> Result:
    _, model, stream, tools = MIX[kind]
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
    if stream:
        body["stream"] = True
    if tools:
        body |= {"tools": [WEATHER], "tool_choice": "required"}
    started = time.perf_counter()
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            text = (await response.aread()).decode("utf-8", "replace")
        error = check(kind, response.status_code, text)
    except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Result(kind, time.perf_counter() - started, error)


async def drive(base: str, kinds: list[str], concurrency: int) -> list[Result]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)
    results: list[Result] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    client = httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits)
    async with client:

        async def worker() -> None:
            while not queue.empty():
                results.append(await one(client, queue.get_nowait()))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def plan(total: int, seed: int) -> list[str]:
    kinds = [kind for kind, (share, *_) in MIX.items() for _ in range(round(total * share))]
    kinds = (kinds + ["nonstream"] * total)[:total]
    random.Random(seed).shuffle(kinds)
    return kinds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(
    results: list[Result], wall: float, access_log: str, args: argparse.Namespace
) -> dict[str, Any]:
    statuses = Counter(m.group(2) for m in ACCESS_LINE.finditer(access_log))
    rows: dict[str, Any] = {}
    for kind in [*MIX, "all"]:
        times = [r.seconds * 1000 for r in results if kind in ("all", r.kind)]
        rows[kind] = {
            "n": len(times),
            "p50_ms": round(percentile(times, 0.5), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
            "max_ms": round(max(times, default=0), 1),
        }
    errors = [f"{r.kind}: {r.error}" for r in results if r.error]
    print(f"{'kind':<14}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind, row in rows.items():
        print(f"{kind:<14}{row['n']:>6}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['max_ms']:>10}")
    print(
        f"requests {len(results)} in {wall:.1f} s ({len(results) / wall:.1f}/s) at concurrency "
        f"{args.concurrency}; proxy workers {args.workers}; Router num_retries {args.num_retries}"
    )
    print(
        f"emulator answered: {dict(sorted(statuses.items()))}; 429s sent (each retried by the "
        f"Router): {statuses.get('429', 0)}"
    )
    print(f"client-visible errors: {len(errors)}")
    for line in errors[:10]:
        print("  " + line)
    return {
        "rows": rows,
        "errors": errors,
        "emulator_statuses": dict(statuses),
        "wall_s": round(wall, 2),
        "requests": len(results),
        "concurrency": args.concurrency,
        "workers": args.workers,
        "throttle_rate": args.throttle_rate,
        "machine": machine(),
    }


def machine() -> str:
    from importlib.metadata import version

    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, litellm {version('litellm')}, "
        f"plugin {version('litellm-sagemaker-openai')}"
    )


@contextmanager
def stack_and_verify(procs: Processes) -> Iterator[None]:
    try:
        yield
    finally:
        left = procs.stop_all()
        print(f"processes left behind: {len(left)}" + (f" {left}" if left else ""))
        if left:
            raise SystemExit(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--throttle-rate", type=float, default=0.05, help="emulator 429 share")
    parser.add_argument("--num-retries", type=int, default=3, help="the Router's num_retries")
    parser.add_argument("--workers", type=int, default=1, help="proxy worker processes")
    parser.add_argument("--itl-ms", type=float, default=0.0, help="reference gap between tokens")
    parser.add_argument("--seed", type=int, default=7, help="request mix and throttle seed")
    parser.add_argument("--deadline", type=float, default=600, help="abort after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    procs = Processes()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        stack.enter_context(stack_and_verify(procs))
        work = Path(tmp)
        emulator = start_emulator(procs, work, args)
        proxy = start_proxy(procs, work, emulator, args)
        print(f"emulator {emulator}, proxy {proxy}; machine: {machine()}", flush=True)
        asyncio.run(drive(proxy, plan(10, args.seed + 1), 5))  # warm-up, not counted
        skip = (work / "emulator.log").stat().st_size  # count only the load's access lines
        started = time.perf_counter()
        try:
            load = drive(proxy, plan(args.requests, args.seed), args.concurrency)
            results = asyncio.run(asyncio.wait_for(load, args.deadline))
        except TimeoutError:
            print(f"aborted: the run took longer than {args.deadline} s")
            return 2
        wall = time.perf_counter() - started
        time.sleep(0.5)  # let the emulator flush its last access lines
        access_log = (work / "emulator.log").read_bytes()[skip:].decode("utf-8", "replace")
        figures = report(results, wall, access_log, args)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["errors"]:
        return 1
    if args.throttle_rate > 0 and not figures["emulator_statuses"].get("429"):
        print("no 429 was induced: the retry path was not exercised")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
