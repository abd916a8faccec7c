"""The public surface of both packages is explicit and locked, httpx-style."""

from __future__ import annotations

import subprocess
import sys

import pytest

import litellm_sagemaker_openai


def test_provider_all_is_complete() -> None:
    # Its order is ruff's (RUF022, isort-style: constants first).
    assert len(set(litellm_sagemaker_openai.__all__)) == len(litellm_sagemaker_openai.__all__)
    assert set(litellm_sagemaker_openai.__all__) == {
        "ConfigurationError", "CredentialsError", "MAX_TOKEN_SECONDS", "ModelRef",
        "SageMakerOpenAI", "SageMakerOpenAIError", "StaticKeys", "StreamError", "TOKEN_ACTION",
        "TOKEN_HOST", "TOKEN_PREFIX", "TOKEN_SERVICE", "TOKEN_VERSION", "__version__",
        "generate_token", "handler", "parse_model", "register", "runtime_base", "validate_name",
        "validate_region",
    }  # fmt: skip
    for name in litellm_sagemaker_openai.__all__:
        assert getattr(litellm_sagemaker_openai, name) is not None


# What the conformance kit and the route emulator use of the provider: all of it public, and
# all of it usable in an interpreter that never imports litellm (the kit must not).
KIT_SURFACE = """
import sys
from datetime import timedelta
import litellm_sagemaker_openai as p
token = p.generate_token("us-east-1", p.StaticKeys("AKIAKITSURFACE000001", "s"), timedelta(minutes=15))
assert token.startswith(p.TOKEN_PREFIX)
assert "botocore" not in sys.modules, "explicit keys need no botocore"
assert (p.TOKEN_HOST, p.TOKEN_SERVICE, p.TOKEN_ACTION, p.TOKEN_VERSION, p.MAX_TOKEN_SECONDS) == (
    "sagemaker.amazonaws.com", "sagemaker", "CallWithBearerToken", "&Version=1", 43200)
assert p.validate_region("cn-north-1") == "cn-north-1"
assert p.validate_name("ep-1") == "ep-1"
assert p.validate_name("ic", "inference component") == "ic"
assert p.runtime_base("us-isof-south-1") == "https://runtime.sagemaker.us-isof-south-1.csp.hci.ic.gov"
p.parse_model("ep/ic")
assert "litellm" not in sys.modules, "litellm imported"
"""


def test_token_code_imports_without_litellm() -> None:
    subprocess.run([sys.executable, "-c", KIT_SURFACE], check=True, timeout=60)


@pytest.mark.parametrize(
    "name", ["", "-ep", "ep-", "a/../b", "ep?x", "ep\n", "é", "a" * 64, "a" + "-" * 62 + "b"]
)
def test_validate_name_refuses_what_sagemaker_refuses(name: str) -> None:
    with pytest.raises(litellm_sagemaker_openai.ConfigurationError, match="invalid endpoint name"):
        litellm_sagemaker_openai.validate_name(name)
    with pytest.raises(ValueError, match="invalid inference component name"):
        litellm_sagemaker_openai.validate_name(name, "inference component")


def test_validate_name_accepts_the_longest_names() -> None:
    for name in ("a", "a" * 63, "a-b", "a--b", "A" + "-" * 10 + "9" * 52):
        assert litellm_sagemaker_openai.validate_name(name) == name


def test_conformance_never_imports_litellm() -> None:
    code = (
        "import sys, pkgutil, importlib, conformance\n"
        "for m in pkgutil.walk_packages(conformance.__path__, 'conformance.'):\n"
        "    if not m.name.endswith('plugin'): importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'litellm' or n.startswith('litellm.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_handler_repr_has_no_secrets() -> None:
    assert repr(litellm_sagemaker_openai.handler) == "SageMakerOpenAI()"


def test_docs_samples_serve_the_emulator_through_public_names() -> None:
    """The docs start the emulator and a container with these; they must stay public."""
    import httpx
    from botocore.credentials import Credentials

    import conformance

    creds = conformance.TestCredentials("AKIAPUBLICAPI0000001", "public-api-secret")
    config = conformance.EmulatorConfig(
        credentials=(creds,), reference=conformance.ReferenceConfig()
    )
    token = litellm_sagemaker_openai.generate_token(
        region="us-east-1", credentials=Credentials(creds.access_key_id, creds.secret_access_key)
    )
    with conformance.run_emulator(config) as base_url:
        reply = httpx.post(
            f"{base_url}/endpoints/ep/openai/v1/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": "", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "You said: hi"
    app = conformance.create_reference_app(conformance.ReferenceConfig())
    with conformance.serve_app(app) as base_url:
        assert httpx.get(f"{base_url}/ping", timeout=30).status_code == 200
