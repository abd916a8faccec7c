"""``sagemaker-openai-emulator`` as a user runs it: a real process, a real port, a real token."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from emulator.emulator_support import CREDS, mint

from conformance._emulator import load_credentials_file, write_credentials_file
from conformance._emulator.cli import main

SCRIPT = Path(sys.executable).with_name("sagemaker-openai-emulator")
LISTENING = re.compile(r"^listening on ((?P<scheme>https?)://127\.0\.0\.1:\d+)$")
CHAT_BODY = {"model": "", "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 4}


def command() -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT)]
    return [sys.executable, "-m", "conformance._emulator.cli"]


def lines(stream: IO[str]) -> queue.Queue[str]:
    """Read a pipe on a thread so the test can wait for a line with a timeout."""
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            found.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return found


@contextmanager
def emulator_process(
    *args: str, scheme: str = "http"
) -> Iterator[tuple[subprocess.Popen[str], str, queue.Queue[str]]]:
    process = subprocess.Popen(
        [*command(), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = lines(process.stdout), lines(process.stderr)  # type: ignore[arg-type]
        first = stdout.get(timeout=20)
        match = LISTENING.match(first)
        assert match and match.group("scheme") == scheme, first
        yield process, match.group(1), stderr
        assert stdout.empty(), "stdout must hold exactly one line"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def children_of(pid: int) -> list[str]:
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.exists():
        return []
    files = [task / "children" for task in tasks.iterdir()]
    return [child for file in files if file.exists() for child in file.read_text().split()]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_reference_mode_serves_a_minted_token_and_exits_cleanly(stop: signal.Signals) -> None:
    with emulator_process("--reference", "--itl-ms", "1") as (process, base, stderr):
        notice = next(line for line in iter(lambda: stderr.get(timeout=5), None) if "demo" in line)
        creds_file = Path(re.findall(r"AWS_SHARED_CREDENTIALS_FILE=(\S+)", notice)[0])
        (creds,) = load_credentials_file(creds_file)
        url = f"{base}/endpoints/demo-endpoint/openai/v1/chat/completions"
        response = httpx.post(
            url, json=CHAT_BODY, headers={"Authorization": f"Bearer {mint(creds)}"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]
        refused = httpx.post(url, json=CHAT_BODY, headers={"Authorization": f"Bearer {mint()}"})
        assert refused.status_code == 403
        assert children_of(process.pid) == []
        process.send_signal(stop)
        assert process.wait(10) == 0
    assert not creds_file.exists(), "the demo credentials file is removed on exit"


def test_mapped_endpoints_with_a_credentials_file(tmp_path: Path, stub_url: str) -> None:
    path = write_credentials_file(tmp_path / "credentials", CREDS)
    args = ("--credentials-file", str(path), "--endpoint", f"demo-endpoint={stub_url}")
    with emulator_process(*args, "--region", "eu-west-1") as (process, base, _):
        headers = {"Authorization": f"Bearer {mint(region='eu-west-1')}"}
        chat = httpx.post(
            f"{base}/endpoints/demo-endpoint/openai/v1/chat/completions",
            json={"tag": True},
            headers=headers,
        )
        unknown = httpx.post(f"{base}/endpoints/other/openai/v1/chat/completions", headers=headers)
        assert chat.json() == {"tag": "stub"}
        assert unknown.status_code == 404
        process.terminate()
        assert process.wait(10) == 0
    assert path.exists(), "a user's credentials file is never removed"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint", "no-url"], "NAME=URL"),
        (["--component", "ep=http://h:1"], "ENDPOINT/COMPONENT=URL"),
        (["--endpoint", "bad_name=http://h:1"], "invalid endpoint name"),
        (["--credentials-file", "/nonexistent/credentials"], "cannot read credentials file"),
        (["--region", "nowhere"], "invalid AWS region"),
    ],
    ids=["endpoint_flag", "component_flag", "name", "credentials_file", "region"],
)
def test_bad_arguments_exit_2_with_a_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", "0", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_delays_need_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--itl-ms", "5"])
    assert caught.value.code == 2
    assert "--reference" in capsys.readouterr().err


@pytest.mark.parametrize("switch", [(), ("--no-health-check",)])
def test_the_command_line_health_checks_unless_told_not_to(
    tmp_path: Path, switch: tuple[str, ...]
) -> None:
    # A real container without /ping (the reference started with its no_ping fault).
    from conformance._engine._local import reference_target

    path = write_credentials_file(tmp_path / "credentials", CREDS)
    with reference_target("direct", ("no_ping",)) as container:
        args = ("--credentials-file", str(path), "--endpoint", f"ep={container.base_url}")
        with emulator_process(*args, *switch) as (process, base, _):
            chat = httpx.post(
                f"{base}/endpoints/ep/openai/v1/chat/completions",
                json=CHAT_BODY,
                headers={"Authorization": f"Bearer {mint()}"},
            )
            process.terminate()
            assert process.wait(10) == 0
    if switch:
        assert chat.status_code == 200
    else:
        assert chat.status_code == 400, chat.text
        assert "is not in service" in chat.json()["message"]
