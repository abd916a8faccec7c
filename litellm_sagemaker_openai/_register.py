"""Registration with LiteLLM: the handler instance proxies name, and ``register()``."""

from __future__ import annotations

import functools
from typing import Any, Final

import litellm

from ._caller import install_loop_capture
from ._handler import SageMakerOpenAI
from ._redact import install_log_filter
from ._routing import PROVIDER
from ._typos import register_misspellings

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
    register_misspellings(entries, litellm.provider_list)
    install_loop_capture()
    bridge_completion_cost()


def stated_cost(response: object) -> float | None:
    """The instance-hour cost this provider stated on a response (``_cost.py``), if any.

    The plugin drops any ``usage.cost`` a container sends, so on a ``sagemaker_openai``
    response it is the plugin's own, or the one LiteLLM >= 1.108 writes on a stream's usage.
    """
    hidden = getattr(response, "_hidden_params", None)
    if not isinstance(hidden, dict) or hidden.get("custom_llm_provider") != PROVIDER:
        return None
    cost = getattr(getattr(response, "usage", None), "cost", None)
    return float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None


def bridge_completion_cost() -> None:
    """Let ``litellm.completion_cost`` return the cost this provider stated (idempotent).

    LiteLLM's logging (``_hidden_params["response_cost"]``, the proxy's header, spend logs)
    uses a stated cost as is, but ``completion_cost`` only prices from its model map and never
    reads one; tests/compat/test_cost_contract.py checks that this is still so. Any call that
    is not about such a response, or that passes prices of its own, goes to LiteLLM unchanged.
    """
    original = litellm.completion_cost
    if getattr(original, "sagemaker_openai_bridge", False):
        return

    @functools.wraps(original)
    def completion_cost(*args: Any, **kwargs: Any) -> float:
        response = kwargs.get("completion_response", args[0] if args else None)
        own_prices = kwargs.get("custom_cost_per_token") or kwargs.get("custom_cost_per_second")
        cost = None if own_prices else stated_cost(response)
        return original(*args, **kwargs) if cost is None else cost

    completion_cost.sagemaker_openai_bridge = True  # type: ignore[attr-defined]
    litellm.completion_cost = completion_cost


# Importing the package is enough for a proxy to get the safety nets; both are idempotent.
install_log_filter()
install_loop_capture()
