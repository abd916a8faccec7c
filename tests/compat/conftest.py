"""Each contract test gets fresh probes registered under two provider names, then removed."""

from __future__ import annotations

from collections.abc import Iterator

import litellm
import pytest
from compat.compat_support import Probe

litellm.suppress_debug_info = True
# LiteLLM copies litellm.callbacks into these lists on each call, and skips a logger whose class
# is already there: restore them all, or a later test's logger of the same class is ignored.
CALLBACK_LISTS = ("callbacks", "success_callback", "failure_callback", "input_callback",
                  "_async_success_callback", "_async_failure_callback", "_async_input_callback",
                  "service_callback")  # fmt: skip


@pytest.fixture
def probe() -> Iterator[Probe]:
    """A probe registered as ``compatprobe``, a name LiteLLM treats as any custom provider."""
    yield from _registered("compatprobe")


@pytest.fixture
def sagemaker_probe() -> Iterator[Probe]:
    """A probe registered as ``sagemaker_compatprobe``: its name starts with "sagemaker", as the plugin's."""
    yield from _registered("sagemaker_compatprobe")


def _registered(provider: str) -> Iterator[Probe]:
    probe = Probe()
    saved_map = list(litellm.custom_provider_map)
    saved = {
        name: list(getattr(litellm, name)) for name in CALLBACK_LISTS if hasattr(litellm, name)
    }
    litellm.custom_provider_map.append({"provider": provider, "custom_handler": probe})
    try:
        yield probe
    finally:
        litellm.custom_provider_map[:] = saved_map
        for name, value in saved.items():
            getattr(litellm, name)[:] = value
