"""The built-in checks, one module per area, and the catalogue they make.

Importing this package registers every built-in check. ``AREAS`` is the one list of the areas:
their order in a run and in every report, and each one's title on the checks page. The front
doors pick checks here (``select_checks``) and hand them to the engine, which runs any list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Final

from .._engine._registry import REGISTRY, STAGES, Check, Severity
from . import chat, chunk, container, errors, live, load, sse, text, tools  # noqa: F401  (registers)

# An area is the first segment of a check id. Checks of other areas (custom ones) come after
# these, in registration order, titled by their area's name.
AREAS: Final[Mapping[str, str]] = {
    "container": "The SageMaker container contract",
    "chat": "Non-streaming answers",
    "sse": "Server-sent events",
    "chunk": "Stream chunks",
    "tools": "Tool calling",
    "errors": "Errors",
    "live": "Live mode only",
}
_ORDER: Final = tuple(AREAS)
__all__ = ["AREAS", "select_checks"]


def select_checks(
    *,
    select: str | Iterable[str] | None = None,
    severity: Severity | str | None = None,
    mode: str | None = None,
    registry: dict[str, Check] | None = None,
) -> list[Check]:
    """Checks matching any glob in ``select`` (comma-separated allowed), at least ``severity``.

    In the catalogue's order: area by area (``AREAS``), in registration order within an area;
    checks that load the target go last, then the probe that tells whether it survived them.
    """
    checks = list((REGISTRY if registry is None else registry).values())
    checks.sort(
        key=lambda c: (
            STAGES.index(c.stage),
            _ORDER.index(c.area) if c.area in AREAS else len(_ORDER),
        )
    )
    if select:
        globs = [select] if isinstance(select, str) else list(select)
        patterns = [p.strip() for g in globs for p in g.split(",") if p.strip()]
        checks = [c for c in checks if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if severity is not None:
        floor = Severity.parse(severity)
        checks = [c for c in checks if c.severity >= floor]
    if mode is not None:
        checks = [c for c in checks if c.applies_to(mode)]
    return checks
