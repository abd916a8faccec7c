"""The public surface of both packages is explicit and locked, httpx-style."""

from __future__ import annotations

import subprocess
import sys

import litellm_sagemaker_openai


def test_provider_all_is_sorted_and_complete() -> None:
    assert litellm_sagemaker_openai.__all__ == sorted(litellm_sagemaker_openai.__all__)
    assert set(litellm_sagemaker_openai.__all__) == {
        "ConfigurationError", "CredentialsError", "ModelRef", "SageMakerOpenAI",
        "SageMakerOpenAIError", "StreamError", "__version__", "generate_token", "handler",
        "parse_model", "register",
    }  # fmt: skip
    for name in litellm_sagemaker_openai.__all__:
        assert getattr(litellm_sagemaker_openai, name) is not None


def test_token_code_imports_without_litellm() -> None:
    code = (
        "import sys, litellm_sagemaker_openai as p, litellm_sagemaker_openai._token, "
        "litellm_sagemaker_openai._credentials; assert 'litellm' not in sys.modules, 'litellm imported'; "
        "p.generate_token; p.parse_model('ep/ic')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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
