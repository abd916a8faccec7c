"""Importing the package registers the provider with LiteLLM, whichever is imported first.

Forgetting ``register()`` used to give LiteLLM's generic "LLM Provider NOT provided". Each case
needs an interpreter where neither package is loaded yet, so each runs in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CALL = """
import respx
with respx.mock() as mock:
    mock.route().respond(200, json={"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "registered"},
                     "finish_reason": "stop"}]})
    reply = litellm.completion(model="sagemaker_openai/ep", messages=[{"role": "user", "content": "hi"}],
        api_key="sagemaker-api-key-QUJD", aws_region_name="us-east-1", num_retries=0)
assert reply.choices[0].message.content == "registered", reply
entries = [e for e in litellm.custom_provider_map if e["provider"] == "sagemaker_openai"]
assert len(entries) == 1, entries
import sys
assert not [f for f in sys.meta_path if type(f).__name__ == "_Registrar"], "the hook stayed"
print("ok")
"""
# Each order imports LiteLLM at a different point: before the package, after it, from inside
# register(), and from inside a module the handler needs (where registering at once would
# import that module again, half-built).
ORDERS = {
    "litellm first": "import litellm\nimport litellm_sagemaker_openai\n",
    "plugin first": "from litellm_sagemaker_openai import generate_token\nfrom litellm import completion\nimport litellm\n",
    "register() before litellm": "import litellm_sagemaker_openai as p\np.register()\nimport litellm\n",
    "a handler module first": "from litellm_sagemaker_openai._send import TOKENS\nimport litellm\n",
}  # fmt: skip


@pytest.mark.parametrize("order", list(ORDERS))
def test_importing_the_package_is_enough(order: str) -> None:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    result = subprocess.run(
        [sys.executable, "-c", ORDERS[order] + CALL],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
    assert "could not register" not in result.stderr, result.stderr[-2000:]


def test_register_stays_idempotent_after_the_automatic_registration() -> None:
    import litellm

    import litellm_sagemaker_openai

    litellm_sagemaker_openai.register()
    litellm_sagemaker_openai.register()
    entries = [e for e in litellm.custom_provider_map if e["provider"] == "sagemaker_openai"]
    assert len(entries) == 1 and entries[0]["custom_handler"] is litellm_sagemaker_openai.handler


def test_a_failed_automatic_registration_warns_and_never_breaks_the_import(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from litellm_sagemaker_openai import _autoregister, _register

    def broken() -> None:
        raise RuntimeError("custom_provider_map is not a list")

    monkeypatch.setattr(_register, "register", broken)
    _autoregister._register_now()  # must not raise
    assert "call litellm_sagemaker_openai.register() yourself" in caplog.text
