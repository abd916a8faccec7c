"""The CA bundle and proxy settings of a call (``_network.py``): the order, without any I/O.

``tests/integration/test_tls.py`` and ``test_proxies.py`` prove each setting against real
handshakes and real proxies; here every row of the docs' precedence table is pinned.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tls_support import LocalCA

from litellm_sagemaker_openai import ConfigurationError, _clients, _network
from litellm_sagemaker_openai._network import Network, resolve_network

PASSWORD = "pr0xy-Pa55word-EXAMPLE"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "SSL_VERIFY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in _network.PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    _network._resolve.cache_clear()
    _network._scoped.cache_clear()
    yield
    _network._resolve.cache_clear()
    _network._scoped.cache_clear()


@pytest.fixture
def bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One distinct (empty) file per source, every source set."""
    paths = {name: tmp_path / f"{name}.pem" for name in
             ("deployment", "global", "aws", "profile", "certfile")}  # fmt: skip
    for path in paths.values():
        path.write_text("")
    config = tmp_path / "config"
    config.write_text(f"[default]\nca_bundle = {paths['profile']}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(paths["aws"]))
    monkeypatch.setenv("SSL_CERT_FILE", str(paths["certfile"]))
    return {name: str(path) for name, path in paths.items()}


def test_the_precedence_of_the_docs_table(
    bundles: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        resolve_network(bundles["deployment"], bundles["global"], None).cafile
        == bundles["deployment"]
    )
    assert resolve_network(None, bundles["global"], None).cafile == bundles["global"]
    monkeypatch.setenv("SSL_VERIFY", bundles["profile"])  # LiteLLM reads it before its global
    assert resolve_network(None, bundles["global"], None).cafile == bundles["profile"]
    monkeypatch.delenv("SSL_VERIFY")
    assert resolve_network(None, True, None).cafile == bundles["aws"]
    monkeypatch.delenv("AWS_CA_BUNDLE")
    network = resolve_network(None, True, None)
    assert network.cafile == bundles["profile"] and "profile's ca_bundle" in network.source
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    assert resolve_network(None, True, None).cafile == bundles["certfile"]
    monkeypatch.delenv("SSL_CERT_FILE")
    assert resolve_network(None, True, None) == Network()  # certifi's


def test_false_turns_verification_off_and_an_explicit_true_keeps_it_on(
    bundles: dict[str, str],
) -> None:
    assert resolve_network(False, True, None).verify is False
    assert resolve_network(None, "false", None).verify is False
    kept = resolve_network(True, False, None)  # the global false does not undo the deployment's
    assert kept.verify is True and kept.cafile == bundles["aws"]
    assert resolve_network(False, True, None).ssl_context().verify_mode == ssl.CERT_NONE


def test_an_ssl_context_is_used_as_it_is(bundles: dict[str, str]) -> None:
    context = ssl.create_default_context()
    network = resolve_network(context, True, None)
    assert network.ssl_context() is context and "SSLContext" in network.source


def test_a_missing_bundle_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"litellm\.ssl_verify / SSL_VERIFY"):
        resolve_network(None, "/no/such/ca.pem", None)


def test_proxy_settings_key_the_pools_and_never_show_their_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = resolve_network(None, True, None)
    # httpx reads the proxy variables when a client is made: each client is made right after
    # its network was resolved, under the same environment, as a call does.
    direct = _clients.sync_client(plain)
    monkeypatch.setenv("HTTPS_PROXY", f"http://corp:{PASSWORD}@127.0.0.1:3128")
    proxied = resolve_network(None, True, None)
    assert proxied != plain and hash(proxied) != hash(plain)
    assert PASSWORD not in repr(proxied)
    assert _clients.sync_client(proxied) is not direct
    assert _clients.sync_client(proxied) is _clients.sync_client(resolve_network(None, True, None))
    monkeypatch.delenv("HTTPS_PROXY")
    assert _clients.sync_client(resolve_network(None, True, None)) is direct


def test_the_profiles_proxy_ca_bundle_verifies_an_https_proxy(
    tmp_path: Path, local_ca: LocalCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile corp]\nproxy_ca_bundle = {local_ca.ca_file}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp.example:3129")
    network = resolve_network(None, True, "corp")
    assert network.proxy_cafile == str(local_ca.ca_file)
    options = network.client_options(httpx.Limits(), asynchronous=True)
    transport = options["mounts"]["https://"]
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    pool = transport._pool
    assert pool._proxy_url.host == b"proxy.corp.example"  # type: ignore[attr-defined]
    assert pool._proxy_ssl_context is not pool._ssl_context  # type: ignore[attr-defined]
