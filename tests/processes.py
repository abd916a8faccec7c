"""Real server processes on loopback for tests: the project's CLIs and a ``litellm`` proxy.

Each process runs in its own session so that stopping it also stops anything it forked, and
every start has a generous deadline that only catches a hang.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import httpx

BIN: Final = Path(sys.executable).parent
START_DEADLINE_S: Final = 60.0
# A cold `litellm --config` takes 10-40 s on two busy cores; 1.106.2 is the slowest.
PROXY_DEADLINE_S: Final = 240.0


def master_key() -> str:
    """A proxy master key that LiteLLM 1.108+ accepts (it refuses unset and well-known keys)."""
    return "sk-" + secrets.token_hex(24)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_listening(
    args: list[str], env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[str], str]:
    """Start a project CLI that prints ``listening on URL`` when ready; return it and URL."""
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(BIN / args[0]), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            text=True,
            start_new_session=True,
        )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(START_DEADLINE_S)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.startswith("listening on "):
        stop(proc)
        raise RuntimeError(f"{args[0]} did not start (said {line!r}): {log.read_text()[-2000:]}")
    return proc, line.removeprefix("listening on ")


def start_proxy(
    config: Path, env: dict[str, str], log: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``litellm --config CONFIG`` on a free loopback port; return it once it is live."""
    port = free_port()
    command = [str(BIN / "litellm"), "--config", str(config), "--host", "127.0.0.1",
               "--port", str(port), "--num_workers", str(workers)]  # fmt: skip
    if workers > 1:  # uvicorn kills a worker that takes 5 s to answer its health check
        command += ["--timeout_worker_healthcheck", str(int(PROXY_DEADLINE_S))]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=config.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + PROXY_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the proxy exited with {proc.returncode}: {log.read_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health/liveliness", timeout=2).status_code == 200:
                return proc, base
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(
        f"the proxy did not start within {PROXY_DEADLINE_S:.0f} s: {log.read_text()[-3000:]}"
    )


REDIS_SERVER: Final = "redis-server"
REDIS_MISSING: Final = (
    "redis-server is not installed: install Debian's redis-server package "
    "(.ci/run does: .ci/debian-packages)"
)


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start a throwaway ``redis-server`` on a free loopback port; return it once it answers.

    Nothing is persisted (no RDB, no AOF) and its files stay in ``workdir``.
    """
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        raise FileNotFoundError(REDIS_MISSING)
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
               "--save", "", "--appendonly", "no", "--protected-mode", "yes"]  # fmt: skip
    with (workdir / "redis.log").open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return proc, port
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"redis-server did not start: {(workdir / 'redis.log').read_text()[-2000:]}")


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's session, then SIGKILL it if it has not exited after 15 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)
    if proc.stdout is not None:
        proc.stdout.close()
