"""Registration with LiteLLM: the handler instance proxies name, and ``register()``."""

from __future__ import annotations

from typing import Final

import litellm

from ._caller import install_loop_capture
from ._handler import SageMakerOpenAI
from ._redact import install_log_filter
from ._routing import PROVIDER

handler: Final = SageMakerOpenAI()


def register() -> None:
    """Add the ``sagemaker_openai`` provider to LiteLLM. Idempotent; appends, never replaces.

    A LiteLLM proxy registers it from ``config.yaml`` instead::

        litellm_settings:
          custom_provider_map:
            - {provider: sagemaker_openai, custom_handler: litellm_sagemaker_openai.handler}
    """
    entries = litellm.custom_provider_map
    if not any(e.get("provider") == PROVIDER for e in entries):
        entries.append({"provider": PROVIDER, "custom_handler": handler})
    install_loop_capture()


# Importing the package is enough for a proxy to get the safety nets; both are idempotent.
install_log_filter()
install_loop_capture()
