"""Suite-wide setup: offline LiteLLM, no real AWS credentials, the provider registered once."""

from __future__ import annotations

import os

# Before any litellm import: otherwise importing litellm fetches the cost map from the internet.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# No test may reach instance metadata (169.254.169.254) or read the developer's AWS files.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tls_support import LocalCA

    from conformance._wire._serve import TLSFiles

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_REGION_NAME", "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_BEARER_TOKEN_BEDROCK",
    "SAGEMAKER_OPENAI_API_BASE",
    # Trust and proxy settings a machine may carry (this one sets AWS_CA_BUNDLE to the system
    # bundle): a test sets what it tests (SSL_CERT_FILE stays, as the default trust store).
    "AWS_CA_BUNDLE", "SSL_VERIFY", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
    "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_aws(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path_factory.getbasetemp() / "no-aws-files"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    # No client environment unless a test asks for one (tests/clients uses `make clients`'
    # cache): otherwise every CLI run in the suite would run the whole client matrix.
    monkeypatch.setenv("SAGEMAKER_OPENAI_CONFORMANCE_CACHE", str(empty / "no-clients"))
    # Nor the LiteLLM clients the kit's own venv has (one starts a proxy): a test that wants the
    # matrix asks for it with --clients, which comes before this default.
    monkeypatch.setenv("SAGEMAKER_OPENAI_CONFORMANCE_CLIENTS", "none")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake static credentials and a region in the environment."""
    env = {
        "AWS_ACCESS_KEY_ID": FAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fresh_tokens() -> Iterator[None]:
    """An empty process-wide token cache before and after the test."""
    from litellm_sagemaker_openai._credentials import _profile_region
    from litellm_sagemaker_openai._send import TOKENS

    TOKENS.clear()
    _profile_region.cache_clear()
    yield
    TOKENS.clear()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG: the root (botocore, httpcore, httpx, the emulator reach it) and
    LiteLLM's own, as ``litellm._turn_on_debug()`` sets them; restored afterwards."""
    import litellm

    litellm._turn_on_debug()
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        litellm.set_verbose = False


@pytest.fixture(scope="session")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    """The session's own certificate authority (``tests/tls_support.py``); trust its ``ca_file``."""
    from tls_support import make_ca

    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def server_tls(local_ca: LocalCA) -> TLSFiles:
    """A certificate of ``local_ca`` for localhost, 127.0.0.1, ::1 and ``tls_support.VPCE_HOST``:
    give it to ``serve_app(..., tls=)`` or the emulator's ``--ssl-certfile/--ssl-keyfile``."""
    return local_ca.issue()
