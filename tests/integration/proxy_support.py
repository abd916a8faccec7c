"""A real ``litellm --config`` proxy on loopback for the integration tests, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from processes import master_key, start_proxy, stop

MASTER_KEY: Final = master_key()


def proxy_env() -> dict[str, str]:
    """The environment a test proxy runs with: this process's, plus the master key, offline."""
    return {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true"}  # fmt: skip


@contextlib.contextmanager
def run_proxy(config: dict[str, Any], workdir: Path) -> Iterator[str]:
    """Write ``config`` to ``workdir/config.yaml``, start one proxy worker, yield its base URL."""
    path = workdir / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is valid YAML
    proc, base = start_proxy(path, proxy_env(), workdir / "proxy.log")
    try:
        yield base
    finally:
        stop(proc)
