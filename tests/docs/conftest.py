"""The world a docs sample runs in: the emulator, a container and proxies, each a real process.

It is the world README.md sets up for a new user: ``sagemaker-openai-emulator --reference``
with a credentials file, ``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_REGION`` and
``SAGEMAKER_OPENAI_API_BASE`` exported, ``LITELLM_MASTER_KEY`` set for the proxy.
Two addresses in samples stand for servers the reader starts: ``localhost:8080`` is "your
container" (the reference container here) and ``localhost:4000`` is the proxy started from the
page's own ``config.yaml`` block.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from processes import master_key, start_listening, start_proxy, stop

# The same pair README.md writes to emulator-credentials.ini.
CREDENTIALS_INI = """[default]
aws_access_key_id = AKIAEMULATOR00000001
aws_secret_access_key = emulator-secret-key
"""


@dataclass
class Servers:
    """The running servers and the environment a sample process gets."""

    emulator: str
    container: str
    env: dict[str, str]
    workdir: Path
    proxies: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    def proxy(self, config_text: str) -> str:
        """The base URL of a proxy serving ``config_text``; started once per distinct config."""
        if config_text not in self.proxies:
            directory = self.workdir / f"proxy-{len(self.proxies)}"
            directory.mkdir()
            config = directory / "config.yaml"
            config.write_text(config_text)
            proc, url = start_proxy(config, self.env, directory / "proxy.log")
            self.processes.append(proc)
            self.proxies[config_text] = url
        return self.proxies[config_text]


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("docs-samples")
    credentials = workdir / "emulator-credentials.ini"
    credentials.write_text(CREDENTIALS_INI)
    base_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SAGEMAKER_OPENAI_", "LITELLM_"))
    }
    base_env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "AWS_EC2_METADATA_DISABLED": "true"}
    emulator, emulator_url = start_listening(
        ["sagemaker-openai-emulator", "--port", "0", "--reference",
         "--credentials-file", str(credentials)],
        base_env, workdir / "emulator.log",
    )  # fmt: skip
    try:
        container, container_url = start_listening(
            ["sagemaker-openai-reference", "--port", "0"], base_env, workdir / "container.log"
        )
    except BaseException:
        stop(emulator)
        raise
    env = base_env | {
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
        "AWS_REGION": "us-east-1",
        "SAGEMAKER_OPENAI_API_BASE": emulator_url,
        "LITELLM_MASTER_KEY": master_key(),
        "LITELLM_LOG": "ERROR",
        "DISABLE_SCHEMA_UPDATE": "true",
    }
    running = Servers(emulator_url, container_url, env, workdir)
    try:
        yield running
    finally:
        everything: list[subprocess.Popen[Any]] = [*running.processes, container, emulator]
        for proc in everything:
            stop(proc)
