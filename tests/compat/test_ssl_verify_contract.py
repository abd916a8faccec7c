"""Where LiteLLM puts ``ssl_verify`` for a custom provider: the plugin reads it per deployment."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from compat.compat_support import Probe

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("value", ["/etc/ssl/certs/corp-ca.pem", False])
def test_ssl_verify_reaches_litellm_params(probe: Probe, value: Any) -> None:
    litellm.completion(model="compatprobe/ep", messages=MESSAGES, ssl_verify=value)
    router = litellm.Router(
        model_list=[
            {"model_name": "m", "litellm_params": {"model": "compatprobe/ep", "ssl_verify": value}}
        ]
    )
    router.completion(model="m", messages=MESSAGES)
    seen = [call.kwargs["litellm_params"].get("ssl_verify", "<absent>") for call in probe.calls]
    assert seen == [value, value], (
        f"LiteLLM passed ssl_verify={seen} to a CustomLLM, not {value!r} (a call's keyword, then "
        "a Router deployment's); the plugin reads a deployment's CA bundle from litellm_params"
    )
