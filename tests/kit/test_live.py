"""Live mode, exercised against the emulator (a stand-in for the real runtime) with --runtime-url."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import conformance
from conformance._doors._cli import main
from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._engine._context import CheckContext
from conformance._engine._live import Diagnosis, _first_request, diagnose, iam_help
from conformance._engine._local import KIT_REFERENCE
from conformance._engine._registry import Outcome
from conformance._reference import ReferenceConfig, create_reference_app
from conformance._wire._serve import serve_app
from conformance._wire._target import Target

CREDS = TestCredentials("AKIAKITLIVETEST00001", "kit/live/test/secret/0123456789abcdefghij")
ENDPOINT = "kit-live"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    good = ReferenceConfig(**KIT_REFERENCE)
    broken = ReferenceConfig(
        **KIT_REFERENCE, faults=frozenset({"usage_without_include", "no_done"})
    )
    with (
        serve_app(create_reference_app(good)) as ref,
        serve_app(create_reference_app(broken)) as bad,
    ):
        config = EmulatorConfig(
            credentials=(CREDS,),
            endpoints={ENDPOINT: ref, "kit-broken": bad},
            components={("kit-comp", "ic-one"): ref},
        )
        with run_emulator(config) as url:
            yield url


@pytest.fixture
def live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default credential chain finds CREDS, as it would find a developer's keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS.secret_access_key)


def live_args(emulator: str, *extra: str, endpoint: str = ENDPOINT) -> list[str]:
    return ["--endpoint", endpoint, "--region", "us-east-1", "--runtime-url", emulator, *extra]


@pytest.mark.usefixtures("live_env")
@pytest.mark.parametrize("component", [None, "ic-one"])
def test_every_live_check_passes_through_the_route(emulator: str, component: str | None) -> None:
    endpoint = "kit-comp" if component else ENDPOINT
    target = Target.live(endpoint, "us-east-1", inference_component=component, base_url=emulator)
    report = conformance.run(target)
    assert report.mode == "live"
    assert {r.id: r.message for r in report.results if r.outcome is not Outcome.PASSED} == {}
    ids = {r.id for r in report.results}
    assert {"live.route", "live.sample_client", "live.auth_errors"} <= ids
    assert not ids & {"container.ping", "errors.mid_stream", "container.large_body"}
    auth = next(r for r in report.results if r.id == "live.auth_errors")
    assert "forged token: HTTP 403 from SageMaker" in auth.message


@pytest.mark.usefixtures("live_env")
def test_the_aws_sample_client_breaks_on_an_unrequested_usage_chunk(emulator: str) -> None:
    target = Target.live("kit-broken", "us-east-1", base_url=emulator)
    report = conformance.run(target, select="live.*")
    verdicts = {r.id: r for r in report.results}
    assert verdicts["live.sample_client"].outcome is Outcome.FAILED
    assert "IndexError" in verdicts["live.sample_client"].message
    assert verdicts["live.route"].outcome is Outcome.FAILED  # no [DONE] through the route


@pytest.mark.usefixtures("live_env")
def test_auth_errors_fail_when_the_refusal_is_not_sagemakers(reference_direct: Target) -> None:
    # A container reached without the route: a forged token is never refused with 401/403.
    target = Target.live(ENDPOINT, "us-east-1", base_url=reference_direct.base_url)
    report = conformance.run(target, select="live.auth_errors")
    assert report.results[0].outcome is Outcome.FAILED
    assert "expected 401 or 403" in report.results[0].message


@pytest.mark.usefixtures("live_env")
def test_cli_live_run_with_yes(emulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(live_args(emulator, "--yes", "--format", "json", "--select", "live.*"))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["mode"] == "live"
    assert "live mode: at most" in err and "credentials: found (source: env)" in err
    assert "token: minted" in err and CREDS.secret_access_key not in out + err


@pytest.mark.usefixtures("live_env")
def test_cli_live_refuses_without_yes_when_it_cannot_ask(
    emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(live_args(emulator)) == 2
    assert "pass --yes" in capsys.readouterr().err


def test_cli_live_explains_a_403(
    emulator: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTTRUSTED000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not/the/secret/the/emulator/knows/000000")
    assert main(live_args(emulator, "--yes")) == 2
    err = capsys.readouterr().err
    assert "SageMaker refused the token with HTTP 403" in err
    assert "sagemaker:CallWithBearerToken" in err and "sagemaker:InvokeEndpoint" in err
    assert f"endpoint/{ENDPOINT}" in err


def test_cli_live_without_credentials(emulator: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(live_args(emulator, "--yes")) == 2
    assert "credentials: none found" in capsys.readouterr().err


def test_cli_live_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--endpoint", "ep"]) == 2
    assert "needs --region" in capsys.readouterr().err
    assert main(["--endpoint", "ep", "--region", "mars-1"]) == 2
    assert "invalid AWS region" in capsys.readouterr().err
    assert main(["--endpoint", "ep", "--region", "us-east-1", "--target", "reference"]) == 2


def test_iam_help_names_both_actions_and_the_partition() -> None:
    text = iam_help("cn-north-1", "my-ep")
    assert '"Action": "sagemaker:CallWithBearerToken", "Resource": "*"' in text
    assert "arn:aws-cn:sagemaker:cn-north-1:<ACCOUNT_ID>:endpoint/my-ep" in text


def test_diagnose_reports_a_token_that_cannot_be_minted(emulator: str) -> None:
    def no_token() -> str:
        raise RuntimeError("signing failed")

    target = Target.live(ENDPOINT, "us-east-1", base_url=emulator, token_factory=no_token)
    ctx = CheckContext(target)
    diagnosis = diagnose(ctx, load_credentials=lambda: object())
    ctx.close()
    assert not diagnosis.ok and "token: could not mint one (RuntimeError" in diagnosis.lines[-1]
    assert ctx.requests_sent == 0


def test_first_request_classification(emulator: str) -> None:
    target = Target.live(
        "no-such-endpoint", "us-east-1", base_url=emulator, token_factory=lambda: "unused"
    )
    ctx = CheckContext(target)
    ex = ctx.chat()
    ctx.close()
    assert ex.status in (401, 403)  # an unparseable token is refused before routing
    result = _first_request(ex, "us-east-1", "no-such-endpoint", Diagnosis())
    assert not result.ok and "IAM permissions" in result.lines[-1]
