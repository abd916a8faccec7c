"""Start a real ``litellm --config`` proxy process on loopback, and always stop it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

MASTER_KEY: Final = "sk-test-" + "0123456789abcdef" * 2
STARTUP_S: Final = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_proxy(config: dict[str, Any], workdir: Path) -> Iterator[str]:
    """Write ``config`` to ``workdir/config.yaml``, start one proxy worker, yield its base URL."""
    (workdir / "config.yaml").write_text(json.dumps(config))  # JSON is valid YAML
    port = _free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true"}  # fmt: skip
    litellm_cli = Path(sys.executable).with_name("litellm")
    log = (workdir / "proxy.log").open("w")
    proc = subprocess.Popen([str(litellm_cli), "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", "1"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"proxy exited: {(workdir / 'proxy.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"proxy did not start within {STARTUP_S:.0f} s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
