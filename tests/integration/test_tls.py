"""The plugin over real HTTPS: the emulator serves a certificate of the tests' own CA.

Every way of naming a CA bundle is tried against the real handshake, a certificate that does
not verify is one typed error with no retry, and a VPC interface endpoint's DNS name (resolved
to loopback for the test) gets tokens minted for sagemaker.amazonaws.com like any other host.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import litellm
import pytest
from tls_support import VPCE_HOST, LocalCA, make_ca

from conformance._emulator import EmulatorConfig, TestCredentials
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig
from conformance._wire._serve import TLSFiles
from litellm_sagemaker_openai import _network, _send
from litellm_sagemaker_openai._errors import SageMakerCertificateError

MESSAGES: Final = [{"role": "user", "content": "hello there"}]
MODEL: Final = "sagemaker_openai/tls-endpoint"


@pytest.fixture(scope="module")
def tls_emulator(server_tls: TLSFiles, test_creds: TestCredentials) -> Iterator[str]:
    """Emulator + reference container over HTTPS; yields ``https://127.0.0.1:PORT``."""
    config = EmulatorConfig(
        region="us-east-1", credentials=(test_creds,), reference=ReferenceConfig(itl_ms=5)
    )
    with run_emulator(config, tls=server_tls) as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CA or proxy from the machine; resolved networks and profiles forgotten around each test."""
    for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "SSL_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    for name in _network.PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    _network._resolve.cache_clear()
    _network._scoped.cache_clear()
    yield
    _network._resolve.cache_clear()
    _network._scoped.cache_clear()


def _kwargs(base: str, creds: TestCredentials, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": MESSAGES,
        "api_base": base,
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
        "aws_region_name": "us-east-1",
        "max_tokens": 4,
        **extra,
    }


def _answer(kwargs: dict[str, Any]) -> str:
    response = litellm.completion(**kwargs)
    return str(response.choices[0].message.content)


def _write_profile(path: Path, **settings: str) -> None:
    path.write_text("[default]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))


@pytest.mark.parametrize(
    "source",
    ["deployment", "litellm_global", "SSL_VERIFY", "AWS_CA_BUNDLE", "profile", "SSL_CERT_FILE"],
)
def test_each_way_of_naming_the_ca_bundle_verifies(
    source: str,
    tls_emulator: str,
    test_creds: TestCredentials,
    local_ca: LocalCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    ca = str(local_ca.ca_file)
    extra: dict[str, Any] = {}
    if source == "deployment":
        extra["ssl_verify"] = ca
    elif source == "litellm_global":
        monkeypatch.setattr(litellm, "ssl_verify", ca)
    elif source == "profile":
        config = tmp_path / "config"
        _write_profile(config, ca_bundle=ca)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    else:
        monkeypatch.setenv(source, ca)
    assert _answer(_kwargs(tls_emulator, test_creds, **extra))


def test_the_deployment_setting_comes_first_then_aws_then_ssl_cert_file(
    tls_emulator: str,
    test_creds: TestCredentials,
    local_ca: LocalCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    stranger = str(make_ca(tmp_path / "stranger", "a CA the server never used").ca_file)
    ca = str(local_ca.ca_file)
    kwargs = _kwargs(tls_emulator, test_creds)
    # AWS_CA_BUNDLE comes before SSL_CERT_FILE ...
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    monkeypatch.setenv("AWS_CA_BUNDLE", stranger)
    with pytest.raises(SageMakerCertificateError, match="AWS_CA_BUNDLE"):
        _answer(kwargs)
    # ... and the deployment's ssl_verify before both, and before LiteLLM's global.
    monkeypatch.setattr(litellm, "ssl_verify", stranger)
    assert _answer({**kwargs, "ssl_verify": ca})
    # ssl_verify: false turns verification off (for this deployment only).
    assert _answer({**kwargs, "ssl_verify": False})
    with pytest.raises(SageMakerCertificateError):
        _answer(kwargs)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_certificate_that_does_not_verify_is_one_bad_request_naming_the_host(
    mode: str,
    stream: bool,
    tls_emulator: str,
    test_creds: TestCredentials,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    attempts: list[str] = []
    real = _send._transport_error

    def counted(call: Any, exc: Any) -> Exception:
        attempts.append(call.url)
        return real(call, exc)

    monkeypatch.setattr(_send, "_transport_error", counted)
    params = _kwargs(tls_emulator, test_creds, stream=stream, timeout=30)
    params.pop("messages")
    router = litellm.Router(
        model_list=[{"model_name": "m", "litellm_params": params}], num_retries=3
    )

    async def through_router() -> None:
        response = await router.acompletion(model="m", messages=MESSAGES, stream=stream)
        if stream:
            async for _ in response:  # type: ignore[union-attr]
                pass

    with pytest.raises(litellm.BadRequestError) as info:
        if mode == "sync":
            response = router.completion(model="m", messages=MESSAGES, stream=stream)
            if stream:
                for _ in response:
                    pass
        else:
            asyncio.run(through_router())
    message = str(info.value)
    assert "TLS certificate of 127.0.0.1 did not verify" in message
    assert "ssl_verify: /path/ca.pem" in message and "AWS_CA_BUNDLE" in message
    assert "certifi's bundle" in message  # what it was checked against
    assert len(attempts) == 1, attempts  # num_retries=3, yet one attempt: nothing to retry


def test_a_vpc_endpoint_name_gets_tokens_for_sagemaker_amazonaws_com(
    tls_emulator: str,
    test_creds: TestCredentials,
    local_ca: LocalCA,
    monkeypatch: pytest.MonkeyPatch,
    fresh_tokens: None,
) -> None:
    """``https://vpce-….runtime.sagemaker.<region>.vpce.amazonaws.com`` as api_base.

    The name is made to resolve to 127.0.0.1 by patching ``socket.getaddrinfo`` for that one name
    in this process: the plugin's own resolution and connection code (sync, and async on its
    resolver pool) runs unchanged, TLS checks the certificate against the VPCE name, and
    nothing outside the test (no /etc/hosts) changes. The emulator accepts only tokens signed
    for host sagemaker.amazonaws.com, as the route does, so an answer proves the token's host.
    """
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == VPCE_HOST:
            looked_up.append(host)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = tls_emulator.rsplit(":", 1)[1]
    kwargs = _kwargs(f"https://{VPCE_HOST}:{port}", test_creds, ssl_verify=str(local_ca.ca_file))
    assert _answer(kwargs)
    response = asyncio.run(litellm.acompletion(**kwargs))
    assert response.choices[0].message.content
    assert len(looked_up) == 2  # once per client (sync, then the async loop's): really used
