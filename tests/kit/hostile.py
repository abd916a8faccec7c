"""Hostile targets for the kit's bounds: small real servers that drip, flood, hang or stall.

Run one as its own process: ``python tests/kit/hostile.py KIND [--port N]``; it prints
``listening on http://127.0.0.1:PORT`` when ready and serves until SIGINT or SIGTERM. Every
kind answers ``GET /ping`` (so the kit's reachability check passes) and misbehaves on POST.
``python tests/kit/hostile.py measure`` runs the kit's CLI against each of them, and against
the reference container, and prints the wall time and peak memory of every run.

- ``drip``: a valid answer, one byte every 0.2 s.
- ``endless``: valid SSE chunks as fast as the socket takes them, never a ``[DONE]``.
- ``big``: 100 MB of valid SSE chunks, then ``[DONE]``.
- ``hang``: reads the request, then never answers.
- ``keepalive``: a 200 SSE response, then ``: keep-alive`` every second, forever.
- ``serial``: the reference container, one request at a time; a body over 1 MB keeps it busy
  for an hour, as a serial server (``transformers serve``) tokenizing 6 MB would be.
- ``dies``: the reference container, until its 20th POST; from then on nothing answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance._reference import ReferenceConfig, create_reference_app
from conformance._wire._serve import bind_socket, make_server, run_until_signalled

CHUNK: Final = {
    "id": "chatcmpl-hostile",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "hostile",
    "choices": [{"index": 0, "delta": {"content": "la "}, "logprobs": None, "finish_reason": None}],
}
EVENT: Final = f"data: {json.dumps(CHUNK, separators=(',', ':'))}\n\n".encode()
BLOCK: Final = EVENT * (65_536 // len(EVENT))  # ~64 KiB of whole events
BIG_BYTES: Final = 100_000_000
HOUR: Final = 3600.0
KINDS: Final = ("drip", "endless", "big", "hang", "keepalive", "serial", "dies")
SCRIPT: Final = Path(__file__).resolve()
# kind -> (budget, request timeout) in seconds for tests and `measure`: small, so a run that
# ignores them is caught, and large enough for what the kind lets the kit do in time.
BOUNDS: Final = {
    "drip": (12.0, 1.5),
    "endless": (10.0, 1.5),
    "big": (10.0, 1.5),
    "hang": (15.0, 1.5),
    "keepalive": (12.0, 1.5),
    "serial": (30.0, 2.0),
    "dies": (20.0, 1.5),
}
SSE: Final = "text/event-stream"


async def ping(request: Request) -> Response:
    return Response(status_code=200)


async def _drip() -> AsyncIterator[bytes]:
    for byte in EVENT * 100 + b"data: [DONE]\n\n":
        await asyncio.sleep(0.2)
        yield bytes([byte])


async def _endless() -> AsyncIterator[bytes]:
    while True:
        yield BLOCK
        await asyncio.sleep(0)  # let the server notice a client that left


async def _big() -> AsyncIterator[bytes]:
    for _ in range(BIG_BYTES // len(BLOCK)):
        yield BLOCK
        await asyncio.sleep(0)
    yield b"data: [DONE]\n\n"


async def _keepalive() -> AsyncIterator[bytes]:
    while True:
        yield b": keep-alive\n\n"
        await asyncio.sleep(1.0)


def streaming(body: Any) -> Any:
    async def answer(request: Request) -> Response:
        await request.body()
        return StreamingResponse(body(), media_type=SSE)

    return answer


async def hang(request: Request) -> Response:
    await request.body()
    await asyncio.sleep(HOUR)
    return Response(status_code=504)


def plain_app(post: Any) -> Starlette:
    paths = ("/v1/chat/completions", "/invocations")
    routes = [Route("/ping", ping)] + [Route(p, post, methods=["POST"]) for p in paths]
    return Starlette(routes=routes)


class Serial:
    """The reference container behind one lock; a large body holds the lock for an hour."""

    def __init__(self) -> None:
        self.app = create_reference_app(ReferenceConfig(ttft_ms=2.0, itl_ms=1.0))
        self.lock = asyncio.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.lock:
            length = int(dict(scope["headers"]).get(b"content-length", b"0") or 0)
            if length > 1_000_000:
                await asyncio.sleep(HOUR)
            await self.app(scope, receive, send)


class Dies:
    """The reference container until its 20th POST; then every request hangs."""

    def __init__(self, after: int = 20) -> None:
        self.app = create_reference_app(ReferenceConfig(ttft_ms=2.0, itl_ms=1.0))
        self.posts, self.after = 0, after

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
        if self.posts >= self.after:
            await asyncio.sleep(HOUR)
        await self.app(scope, receive, send)


def build(kind: str) -> Any:
    """The ASGI app of one hostile kind."""
    bodies = {"drip": _drip, "endless": _endless, "big": _big, "keepalive": _keepalive}
    if kind in bodies:
        return plain_app(streaming(bodies[kind]))
    if kind == "hang":
        return plain_app(hang)
    return Serial() if kind == "serial" else Dies()


@contextmanager
def serve(argv: Sequence[str]) -> Iterator[str]:
    """Run a server process (``argv``) that prints ``listening on URL``; yield the URL."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"{argv} did not start: {line!r}")
        yield line.split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def hostile(kind: str) -> list[str]:
    """The command that serves one hostile kind."""
    return [sys.executable, str(SCRIPT), kind]


# `python -m conformance`, which then records its own peak RSS (VmHWM) when it exits. The
# rusage of a child (os.wait4) would not do: Linux carries the forked parent's RSS (a pytest
# process with LiteLLM loaded) across exec into the child's maximum.
KIT: Final = """\
import atexit, re, runpy, sys
PEAK = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(PEAK, "w") as out:
        out.write(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
atexit.register(peak)
runpy.run_module("conformance", run_name="__main__", alter_sys=True)
"""


@dataclass
class KitRun:
    """One CLI run of the kit: exit code, JSON report, wall time and peak RSS."""

    code: int
    report: dict[str, Any] | None
    wall: float
    rss_mb: float
    stderr: str


def run_kit(
    args: Sequence[str],
    output: Path,
    *,
    kill_after: float,
    signal_at: str | None = None,
    signum: int = signal.SIGINT,
) -> KitRun:
    """Run ``python -m conformance ARGS --format json --output OUTPUT`` in a fresh process.

    Wall time and peak RSS are the kit process's own (see KIT). ``kill_after`` seconds is a
    hang guard only. With ``signal_at``, ``signum`` is sent once stderr shows that text.
    """
    errors, peak = output.with_suffix(".stderr"), output.with_suffix(".rss")
    cmd = [sys.executable, "-c", KIT, str(peak), *args, "--format", "json", "--output", str(output)]
    start = time.monotonic()
    with open(errors, "w+", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        guard = threading.Timer(kill_after, proc.kill)
        guard.start()
        if signal_at is not None:
            _signal_when(errors, signal_at, proc, signum, start + kill_after)
        proc.wait()
        guard.cancel()
        wall = time.monotonic() - start
    report = json.loads(output.read_text(encoding="utf-8")) if output.exists() else None
    rss_mb = int(peak.read_text()) / 1024 if peak.exists() else float("nan")
    return KitRun(proc.returncode, report, wall, rss_mb, errors.read_text())


def _signal_when(
    errors: Path, text: str, proc: subprocess.Popen[bytes], signum: int, until: float
) -> None:
    while time.monotonic() < until and proc.poll() is None:
        if text in errors.read_text(encoding="utf-8"):
            proc.send_signal(signum)
            return
        time.sleep(0.05)


def measure(out_dir: Path, kinds: Sequence[str] = KINDS, defaults: bool = False) -> None:
    """Print wall time and peak RSS of the kit against hostile kinds and the reference.

    ``defaults``: the CLI's own bounds (20 s per request, 180 s budget) instead of BOUNDS.
    """
    rows = []
    for kind in kinds:
        budget, timeout = (180.0, 20.0) if defaults else BOUNDS[kind]
        with serve(hostile(kind)) as url:
            args = ["--target", url, "--budget", str(budget), "--request-timeout", str(timeout)]
            run = run_kit(args, out_dir / f"{kind}.json", kill_after=budget * 3)
        rows.append((f"{kind} (direct)", budget, run))
    reference = [sys.executable, "-m", "conformance._reference.cli", "--port", "0"]
    with serve(reference) as url:
        rows.append(
            (
                "reference CLI defaults (direct)",
                180.0,
                run_kit(["--target", url], out_dir / "reference.json", kill_after=300),
            )
        )
    rows.append(
        ("reference, built in (mock)", 180.0, run_kit([], out_dir / "builtin.json", kill_after=300))
    )
    print(f"{'target':<34} {'budget':>7} {'wall':>7} {'run':>7} {'peak RSS':>9}  exit  stopped")
    for name, budget, run in rows:
        report = run.report or {}
        stopped = (report.get("stopped") or {}).get("reason", "-")
        print(
            f"{name:<34} {budget:>6.0f}s {run.wall:>6.1f}s {report.get('duration', 0):>6.1f}s "
            f"{run.rss_mb:>7.0f}MB  {run.code:>4}  {stopped}"
        )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["measure"]:
        # measure [DIR] [--defaults] [KIND ...]
        rest = [a for a in argv[1:] if a != "--defaults"]
        out = Path(rest[0]) if rest else Path("/tmp/conformance-measure")
        out.mkdir(parents=True, exist_ok=True)
        measure(out, rest[1:] or KINDS, defaults="--defaults" in argv)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = make_server(build(args.kind))
    server.config.timeout_graceful_shutdown = 1

    def ready(url: str) -> None:
        print(f"listening on {url}", flush=True)

    run_until_signalled(server, bind_socket("127.0.0.1", args.port), ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
