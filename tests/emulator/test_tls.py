"""The emulator over HTTPS: ``--ssl-certfile/--ssl-keyfile`` with certificates the tests make."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from emulator.emulator_support import CREDS, mint
from emulator.test_cli import CHAT_BODY, emulator_process
from tls_support import LocalCA, make_ca

from conformance._emulator import write_credentials_file
from conformance._emulator.cli import main
from conformance._wire._serve import TLSFiles


def test_serves_https_that_verifies_against_the_tests_ca(
    tmp_path: Path, local_ca: LocalCA, server_tls: TLSFiles
) -> None:
    creds_file = tmp_path / "credentials"
    write_credentials_file(creds_file, CREDS)
    tls_args = ("--ssl-certfile", server_tls.certfile, "--ssl-keyfile", server_tls.keyfile)
    with emulator_process(
        "--reference", "--credentials-file", str(creds_file), *tls_args, scheme="https"
    ) as (_, base, _):
        assert base.startswith("https://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=local_ca.ca_file)) as client:
            answer = client.post(
                f"{base}/endpoints/ep/invocations",
                json=CHAT_BODY,
                headers={"Authorization": f"Bearer {mint()}"},
                timeout=20,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"]
        # A client that does not trust the tests' CA refuses the server.
        stranger = make_ca(tmp_path / "stranger", "a CA nobody told the client about")
        with (
            httpx.Client(verify=ssl.create_default_context(cafile=stranger.ca_file)) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(f"{base}/ping", timeout=20)


def test_the_tls_flags_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--ssl-certfile", "cert.pem"])
    assert exc.value.code == 2
    assert "give both, or neither" in capsys.readouterr().err


def test_a_key_that_does_not_match_is_a_one_line_error(
    tmp_path: Path, local_ca: LocalCA, server_tls: TLSFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    other = local_ca.issue(stem="other")
    status = main(["--ssl-certfile", server_tls.certfile, "--ssl-keyfile", other.keyfile])
    err = capsys.readouterr().err
    assert status == 2
    assert "private key that matches" in err
    assert "Traceback" not in err
    missing = main(["--ssl-certfile", str(tmp_path / "nope.pem"), "--ssl-keyfile", "x"])
    assert missing == 2
    assert "cannot read" in capsys.readouterr().err
