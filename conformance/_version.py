"""The kit's version: the distribution's, which ships the provider and the kit together."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("litellm-sagemaker-openai")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
