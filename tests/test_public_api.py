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
