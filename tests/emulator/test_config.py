"""Emulator configuration and the shared-credentials file the emulator and clients both read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import botocore.session
import pytest
from emulator.emulator_support import CREDS, OTHER

from conformance._emulator import (
    EmulatorConfig,
    TestCredentials,
    generate_test_credentials,
    load_credentials_file,
    write_credentials_file,
)
from conformance._emulator._config import parse_component_flag, parse_endpoint_flag


def test_written_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path = write_credentials_file(tmp_path / "credentials", CREDS)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_credentials_file(path) == (CREDS,)


def test_botocore_reads_the_written_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_credentials_file(
        tmp_path / "credentials", CREDS, profile="demo", region="eu-west-1"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    session = botocore.session.Session(profile="demo")
    found = session.get_credentials().get_frozen_credentials()
    assert (found.access_key, found.secret_key) == (CREDS.access_key_id, CREDS.secret_access_key)
    assert session.get_config_variable("region") == "eu-west-1"


def test_every_profile_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\n"
        f"aws_access_key_id = {CREDS.access_key_id}\n"
        f"aws_secret_access_key = {CREDS.secret_access_key}\n"
        "[other]\n"
        f"aws_access_key_id = {OTHER.access_key_id}\n"
        f"aws_secret_access_key = {OTHER.secret_access_key}\n"
        "[half]\naws_access_key_id = AKIAHALF\n"
    )
    assert load_credentials_file(path) == (CREDS, OTHER)


@pytest.mark.parametrize(
    "content", ["", "[default]\nregion = us-east-1\n", "not an ini file"], ids=str
)
def test_files_without_a_key_pair_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(content)
    with pytest.raises(ValueError, match="aws_access_key_id"):
        load_credentials_file(path)


def test_a_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"absent\.ini"):
        load_credentials_file(tmp_path / "absent.ini")


def test_parse_errors_do_not_leak_file_contents(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("aws_secret_access_key = leaked-secret-value\n")
    with pytest.raises(ValueError) as caught:
        load_credentials_file(path)
    assert "leaked-secret-value" not in str(caught.value)


def test_generated_credentials_look_real_and_differ() -> None:
    first, second = generate_test_credentials(), generate_test_credentials()
    assert first != second
    assert first.access_key_id.startswith("AKIA") and len(first.access_key_id) == 20
    assert len(first.secret_access_key) == 40
    assert first.secret_access_key not in repr(first)


def test_credentials_need_both_halves() -> None:
    with pytest.raises(ValueError):
        TestCredentials("AKIA", "")


@pytest.mark.parametrize("name", ["a", "demo-endpoint", "a--b", "A1", "x" * 63])
def test_valid_names(name: str) -> None:
    assert parse_endpoint_flag(f"{name}=http://127.0.0.1:1") == (name, "http://127.0.0.1:1")


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "a_b", "a.b", "x" * 64, "a/b", "a\n", "a" + "-" * 62 + "b"]
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        EmulatorConfig(endpoints={name: "http://127.0.0.1:1"})


# A bare "demo" is a name served by the reference container (tests/emulator/test_control.py).
@pytest.mark.parametrize(
    "flag", ["demo=", "demo=ftp://x", "demo=127.0.0.1:8080", "demo=http://h/?q=1", "=http://h"]
)
def test_bad_endpoint_flags_are_refused(flag: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint_flag(flag)


def test_component_flag() -> None:
    assert parse_component_flag("ep/ic=http://h:1/") == (("ep", "ic"), "http://h:1")
    with pytest.raises(ValueError, match="ENDPOINT/COMPONENT=URL"):
        parse_component_flag("ep=http://h:1")


def test_config_is_frozen_and_read_only() -> None:
    config = EmulatorConfig(endpoints={"a": "http://h:1"})
    with pytest.raises(AttributeError):
        config.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.endpoints["b"] = "http://h:2"  # type: ignore[index]


def test_region_is_validated() -> None:
    with pytest.raises(ValueError, match="region"):
        EmulatorConfig(region="moon-base-1a")
