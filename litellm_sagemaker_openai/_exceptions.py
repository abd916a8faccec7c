"""The package's own exception tree; litellm-free so the conformance kit can share it.

* SageMakerOpenAIError
  + ConfigurationError (also ValueError)   bad model string, name, region or option
  + CredentialsError                        no usable AWS credentials
  + StreamError                             a response that is not an OpenAI SSE stream

Errors that come back from the route are raised as litellm exception classes instead;
see ``_errors.py`` for that table.
"""

from __future__ import annotations


class SageMakerOpenAIError(Exception):
    """Base class for every error this package raises itself."""


class ConfigurationError(SageMakerOpenAIError, ValueError):
    """The call is misconfigured; the message says what to change. Raised before any I/O."""

    status_code: int = 400  # so litellm's status-based mapping never treats it as retryable


class CredentialsError(SageMakerOpenAIError):
    """No AWS credentials could be found or loaded for minting a bearer token."""

    status_code: int = 401


class StreamError(SageMakerOpenAIError):
    """The container's stream is not OpenAI-style SSE (for example LMI JSON lines)."""

    status_code: int = 502
