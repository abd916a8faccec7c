"""Client-side fixtures: the server subprocess, its credentials, and how each path calls it."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from conformance._emulator import TestCredentials, generate_test_credentials, write_credentials_file

ROOT: Final = Path(__file__).resolve().parents[1]
ENDPOINT: Final = "bench-endpoint"
REGION: Final = "us-east-1"
PLUGIN_MODEL: Final = f"sagemaker_openai/{ENDPOINT}"
OPENAI_MODEL: Final = "openai/"  # sends model "", as the plugin does
MESSAGES: Final = [{"role": "user", "content": "hello there, how are you"}]
# 520 one-letter words: the reference echoes them, so max_tokens=500 gives exactly 500
# content chunks (plus the role chunk, the finish chunk and the usage chunk).
LONG_MESSAGES: Final = [{"role": "user", "content": " ".join(["w"] * 520)}]
LONG_MAX_TOKENS: Final = 500
STARTUP_S: Final = 30.0


@dataclass(frozen=True)
class Server:
    """A running emulator + reference container, and the credentials it trusts."""

    base: str
    creds: TestCredentials
    credentials_file: str
    pid: int = 0

    @property
    def route(self) -> str:
        """The OpenAI route prefix, as ``openai/`` callers pass it in ``api_base``."""
        return f"{self.base}/endpoints/{ENDPOINT}/openai/v1"

    def plugin_kwargs(self) -> dict[str, Any]:
        return {
            "api_base": self.base,
            "aws_access_key_id": self.creds.access_key_id,
            "aws_secret_access_key": self.creds.secret_access_key,
            "aws_region_name": REGION,
        }

    def static_token(self) -> str:
        """A 12 h token minted once: what an ``openai/`` deployment would be configured with."""
        from botocore.credentials import Credentials

        from litellm_sagemaker_openai import generate_token

        frozen = Credentials(self.creds.access_key_id, self.creds.secret_access_key)
        return generate_token(REGION, credentials=frozen)

    def openai_kwargs(self) -> dict[str, Any]:
        return {"api_base": self.route, "api_key": self.static_token()}


@contextlib.contextmanager
def server_process(
    itl_ms: float = 0.0,
    stamp_sent_at: bool = False,
    cpus: set[int] | None = None,
    headers_after_ms: float = 0.0,
    tls: tuple[str, str] | None = None,
) -> Iterator[Server]:
    """Start ``python -m bench._server`` (on ``cpus``) and yield it; always stopped on exit.

    ``headers_after_ms``: every stream's response headers, and its first chunk, come that late.
    ``tls``: (certificate, key) paths; the server then speaks HTTPS only.
    """
    with tempfile.TemporaryDirectory(prefix="smo-bench-") as tmp:
        creds = generate_test_credentials()
        path = os.path.join(tmp, "credentials.ini")
        write_credentials_file(path, creds, region=REGION)
        cmd = [sys.executable, "-m", "bench._server", "--credentials-file", path]
        cmd += ["--itl-ms", str(itl_ms)] + (["--stamp-sent-at"] if stamp_sent_at else [])
        if headers_after_ms:
            cmd += ["--ttft-ms", str(headers_after_ms), "--headers-after-ttft"]
        if tls:
            cmd += ["--ssl-certfile", tls[0], "--ssl-keyfile", tls[1]]
        log = open(os.path.join(tmp, "server.log"), "w+b")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, preexec_fn=pin(cpus)
        )
        try:
            base = _wait_listening(proc, log)
            yield Server(base, creds, path, proc.pid)
        finally:
            stop(proc)
            log.close()


def pin(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps a child (and every thread it starts) on ``cpus``."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def _wait_listening(proc: subprocess.Popen[bytes], log: Any) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + STARTUP_S
    try:
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = proc.stdout.readline().decode()
                if line.startswith("listening on "):
                    return line.split()[-1]
            if proc.poll() is not None:
                break
    finally:
        selector.close()
    log.seek(0)
    raise RuntimeError(f"bench server did not start: {log.read()[-2000:].decode(errors='replace')}")


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL after 10 s; never leaves the process behind."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def litellm_ready() -> Any:
    """Import LiteLLM quietly (local cost map, no debug banner) with the plugin registered."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    import litellm_sagemaker_openai

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm_sagemaker_openai.register()
    return litellm


def drain_logging(timeout: float = 5.0) -> None:
    """Wait until LiteLLM's logging thread pool has run every task it was given.

    LiteLLM hands success logging (for streams: one task per chunk) to a thread pool, so
    a CPU measurement that stopped at the last chunk would miss that work and bill it to
    whatever runs next. Reads the pool's private slot counter; a no-op if that changes.
    """
    from litellm.constants import LOGGING_EXECUTOR_MAX_PENDING_TASKS
    from litellm.litellm_core_utils.thread_pool_executor import executor

    slots = getattr(executor, "_pending_slots", None)
    deadline = time.monotonic() + timeout
    while slots is not None and time.monotonic() < deadline:
        if getattr(slots, "_value", LOGGING_EXECUTOR_MAX_PENDING_TASKS) >= (
            LOGGING_EXECUTOR_MAX_PENDING_TASKS
        ):
            return
        time.sleep(0.0005)


def run_child(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m module args`` and parse the JSON object on its last stdout line.

    For measurements that need a process of their own (clean thread and memory counts, or
    a run that may hang): the child is killed at ``timeout``, never left behind.
    """
    import json

    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"{module} did not finish within {timeout:.0f} s"}
    finally:
        stop(proc)
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {
            "error": f"{module} exited {proc.returncode}: {err.decode(errors='replace')[-1500:]}"
        }
    return dict(json.loads(lines[-1]))
