"""LiteLLM provider for SageMaker AI's OpenAI-compatible route.

Everything but ``register``, ``handler`` and ``SageMakerOpenAI`` imports without litellm: the
token (``generate_token``, ``StaticKeys`` and the ``TOKEN_*`` format the route verifies), the
region, host and name rules (``validate_region``, ``runtime_base``, ``validate_name``,
``parse_model``) and the exceptions. The conformance kit uses only these. ``register`` and
``handler`` load litellm on first use.
Importing the package registers the provider with LiteLLM as soon as LiteLLM is imported too
(before or after this package), so ``register()`` is only needed after something replaced
``litellm.custom_provider_map``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._autoregister import register_on_import
from ._credentials import StaticKeys, validate_region
from ._exceptions import ConfigurationError, CredentialsError, SageMakerOpenAIError, StreamError
from ._names import validate_name
from ._routing import ModelRef, parse_model, runtime_base
from ._token import (
    MAX_TOKEN_SECONDS,
    TOKEN_ACTION,
    TOKEN_HOST,
    TOKEN_PREFIX,
    TOKEN_SERVICE,
    TOKEN_VERSION,
    generate_token,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._handler import SageMakerOpenAI
    from ._register import handler, register

__all__ = [
    "MAX_TOKEN_SECONDS",
    "TOKEN_ACTION",
    "TOKEN_HOST",
    "TOKEN_PREFIX",
    "TOKEN_SERVICE",
    "TOKEN_VERSION",
    "ConfigurationError",
    "CredentialsError",
    "ModelRef",
    "SageMakerOpenAI",
    "SageMakerOpenAIError",
    "StaticKeys",
    "StreamError",
    "__version__",
    "generate_token",
    "handler",
    "parse_model",
    "register",
    "runtime_base",
    "validate_name",
    "validate_region",
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
