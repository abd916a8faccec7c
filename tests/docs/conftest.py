"""The world a docs sample runs in: the emulator, a container and proxies, each a real process.

It is the world README.md sets up for a new user: ``sagemaker-openai-emulator --reference``
with a credentials file, ``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_REGION`` and
``SAGEMAKER_OPENAI_API_BASE`` exported, ``LITELLM_MASTER_KEY`` set for the proxy.
Two addresses in samples stand for servers the reader starts: ``localhost:8080`` is "your
container" (the reference container here) and ``localhost:4000`` is the proxy started from the
page's own ``config.yaml`` block.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
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


RUNNER = Path(__file__).with_name("run_blocks.py")
PAGE_DEADLINE_S = 300.0  # catches a hang; a page takes a few seconds


class PageRunner:
    """The pre-forking sample runner (run_blocks.py): one fresh child process per page."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, text=True, start_new_session=True,
        )  # fmt: skip

    def run(self, blocks: list[dict[str, Any]], cwd: Path) -> tuple[int, str]:
        """Run one page's blocks in a child; return its exit status and its output."""
        log = cwd / "sample-output.txt"
        assert self._proc.stdin is not None
        self._proc.stdin.write(
            json.dumps({"blocks": blocks, "cwd": str(cwd), "log": str(log)}) + "\n"
        )
        self._proc.stdin.flush()
        pid = self._answer(PAGE_DEADLINE_S)["pid"]
        try:
            status = self._answer(PAGE_DEADLINE_S)["status"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._answer(30)
            return -9, f"the page did not finish within {PAGE_DEADLINE_S:.0f} s\n{log.read_text()}"
        return status, log.read_text()

    def _answer(self, timeout: float) -> dict[str, int]:
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimeoutError
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sample runner exited with {self._proc.wait(30)}")
        answer: dict[str, int] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            stop(self._proc)


@pytest.fixture(scope="session")
def page_runner(servers: Servers) -> Iterator[PageRunner]:
    runner = PageRunner(servers.env)
    try:
        yield runner
    finally:
        runner.close()


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
