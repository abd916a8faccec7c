"""LiteLLM provider for SageMaker AI's OpenAI-compatible route.

``generate_token``, ``parse_model`` and the exceptions import without litellm (the
conformance kit relies on that); ``register`` and ``handler`` load litellm on first use.
Importing the package registers the provider with LiteLLM as soon as LiteLLM is imported too
(before or after this package), so ``register()`` is only needed after something replaced
``litellm.custom_provider_map``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._autoregister import register_on_import
from ._exceptions import ConfigurationError, CredentialsError, SageMakerOpenAIError, StreamError
from ._routing import ModelRef, parse_model
from ._token import generate_token
from ._version import __version__

if TYPE_CHECKING:
    from ._handler import SageMakerOpenAI
    from ._register import handler, register

__all__ = [
    "ConfigurationError",
    "CredentialsError",
    "ModelRef",
    "SageMakerOpenAI",
    "SageMakerOpenAIError",
    "StreamError",
    "__version__",
    "generate_token",
    "handler",
    "parse_model",
    "register",
]

_LAZY = {"handler": "._register", "register": "._register", "SageMakerOpenAI": "._handler"}


def __getattr__(name: str) -> Any:
    # Deferred so that importing the token code does not pay litellm's ~3.5 s import.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register_on_import()
