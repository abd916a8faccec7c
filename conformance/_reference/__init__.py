"""Reference container: a deterministic OpenAI-compatible chat server, as SageMaker wants one."""

from __future__ import annotations

from conformance._reference._app import create_reference_app
from conformance._reference._config import FAULTS, ReferenceConfig

__all__ = ["FAULTS", "ReferenceConfig", "create_reference_app"]
