"""``sagemaker-openai-models`` against the emulator's control plane, through botocore's client.

The printed config is started by a real ``litellm --config`` proxy, which serves every
deployment it lists, streamed and not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from integration.proxy_support import MASTER_KEY
from processes import start_proxy, stop

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._forward import REFERENCE_URL
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig
from litellm_sagemaker_openai._models_cli import main

DECLARED = {"endpoints": {"chat-a": REFERENCE_URL, "null": REFERENCE_URL},
            "components": {("shared", "qwen-small"): REFERENCE_URL, ("shared", "qwen-large"): REFERENCE_URL}}  # fmt: skip
ALL = ["chat-a", "null", "shared/qwen-large", "shared/qwen-small"]


@pytest.fixture(scope="module")
def control(test_creds: TestCredentials) -> Iterator[str]:
    """An emulator that declares two endpoints and an endpoint with two components."""
    config = EmulatorConfig(
        region="us-east-1", credentials=(test_creds,), reference=ReferenceConfig(), **DECLARED
    )
    with run_emulator(config) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, test_creds: TestCredentials) -> None:
    """The emulator's key pair in the environment, where botocore's chain finds it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", test_creds.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", test_creds.secret_access_key)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def names(config_text: str) -> list[str]:
    return [model["model_name"] for model in yaml.safe_load(config_text)["model_list"]]


@pytest.mark.usefixtures("aws")
def test_every_in_service_deployment_is_listed(control: str, capsys: Any) -> None:
    status, out, err = run(capsys, "--endpoint-url", control)
    assert status == 0 and not err
    assert names(out) == ALL
    config = yaml.safe_load(out)
    assert config["model_list"][1] == {
        "model_name": "null",  # quoted in the file: a bare null would be no name at all
        "litellm_params": {"model": "sagemaker_openai/null", "aws_region_name": "us-east-1"},
    }
    assert "  # chat-a: 1 instance\n" in out


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("globs", "expected"),
    [(["qwen-s*"], ["shared/qwen-small"]), (["shared"], ["shared/qwen-large", "shared/qwen-small"]),
     (["chat-*", "*/qwen-large"], ["chat-a", "shared/qwen-large"]), (["nothing*"], [])],
)  # fmt: skip
def test_globs_filter_by_name(
    control: str, capsys: Any, globs: list[str], expected: list[str]
) -> None:
    args = [arg for glob in globs for arg in ("--match", glob)]
    status, out, err = run(capsys, "--endpoint-url", control, *args)
    assert status == 0 and names(out) == expected
    assert ("no in-service endpoint or component matched in us-east-1" in err) is (not expected)


@pytest.mark.usefixtures("aws")
def test_the_probe_marks_what_answered(
    control: str, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGEMAKER_OPENAI_API_BASE", control)
    status, out, err = run(capsys, "--endpoint-url", control, "--probe", "--match", "shared")
    assert status == 0 and err.strip() == "sagemaker-openai-models: 2 of 2 deployments answered"
    assert out.count("  # probe: answered in ") == 2 and names(out) == ALL[2:]


@pytest.mark.usefixtures("aws")
def test_the_probe_marks_what_did_not_answer_and_fails(control: str, capsys: Any) -> None:
    status, out, err = run(capsys, "--endpoint-url", control, "--probe", "--match", "chat-a",
                           "--api-base", "http://127.0.0.1:9", "--timeout", "5")  # fmt: skip
    assert status == 1 and "0 of 1 deployments answered" in err
    assert "  # probe: FAILED: APIConnectionError: " in out
    assert "nothing is listening at http://127.0.0.1:9, where api_base points" in out
    assert names(out) == ["chat-a"]  # still listed: the config is the same, marked


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [({"AWS_SECRET_ACCESS_KEY": "wrong"}, [], "InvalidSignatureException"),
     ({"AWS_REGION": ""}, [], "no AWS region found"),
     ({}, ["--endpoint-url", "http://127.0.0.1:9"], "check --endpoint-url"),
     ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, [], "no AWS credentials found")],
)  # fmt: skip
@pytest.mark.usefixtures("aws")
def test_control_plane_problems_print_nothing_and_say_why(
    control: str, capsys: Any, monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str], argv: list[str], message: str,
) -> None:  # fmt: skip
    for name, value in env.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name)
    status, out, err = run(capsys, "--endpoint-url", control, *argv)
    assert status == 2 and out == "" and message in err
    assert err.startswith("sagemaker-openai-models: error: ") and err.count("\n") == 1


def test_listing_runs_in_a_fresh_process_without_importing_litellm(
    control: str, test_creds: TestCredentials
) -> None:
    script = (
        "import sys\n"
        "from litellm_sagemaker_openai._models_cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print('# litellm imported:', 'litellm' in sys.modules)\n"
        "raise SystemExit(status)\n"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": test_creds.access_key_id,
           "AWS_SECRET_ACCESS_KEY": test_creds.secret_access_key, "AWS_REGION": "us-east-1"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, "--endpoint-url", control],
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert names(done.stdout) == ALL
    assert done.stdout.rstrip().endswith("# litellm imported: False")


@pytest.mark.proxy
def test_the_printed_config_runs_in_a_real_proxy(
    control: str, test_creds: TestCredentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:  # fmt: skip
    import openai

    credentials = tmp_path / "credentials.ini"
    credentials.write_text(f"[default]\naws_access_key_id = {test_creds.access_key_id}\n"
                           f"aws_secret_access_key = {test_creds.secret_access_key}\n")  # fmt: skip
    for name, value in {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_REGION": "us-east-1",
                        "SAGEMAKER_OPENAI_API_BASE": control}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    status, out, _ = run(capsys, "--endpoint-url", control)
    assert status == 0
    config = tmp_path / "config.yaml"
    config.write_text(out)  # exactly as printed
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOG": "ERROR",
           "DISABLE_SCHEMA_UPDATE": "true"}  # fmt: skip
    proc, base = start_proxy(config, env, tmp_path / "proxy.log")
    try:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=MASTER_KEY, max_retries=0)
        for model in names(out):
            ask: Any = {"model": model, "messages": [{"role": "user", "content": "hi there"}]}
            reply = client.chat.completions.create(**ask)
            streamed = "".join(c.choices[0].delta.content or ""
                               for c in client.chat.completions.create(stream=True, **ask) if c.choices)  # fmt: skip
            assert reply.choices[0].message.content == streamed == "You said: hi there", model
    finally:
        stop(proc)
