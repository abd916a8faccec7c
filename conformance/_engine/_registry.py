"""The check registry: severities, outcomes, the ``@check`` decorator and check exceptions.

``CheckFailure`` is defined with the ``Exchange`` whose evidence it carries (the wire builds it
in ``Exchange.failure()``) and is re-exported here, beside ``CheckSkipped``.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .._wire._exchange import CheckFailure
from ._capabilities import CAPABILITY_PROBES

if TYPE_CHECKING:
    from ._context import CheckContext

MODES: Final = ("direct", "mock", "live")
# Why a check exists. clients: a client of the matrix breaks or silently loses what the user
# asked for, or the route itself refuses (MUST), or clients do extra work (SHOULD, the cost
# named). spec: the specification requires it but no client needs it; such a check is a
# SHOULD and fails a run only under --strict (the strict layer).
LAYERS: Final = ("clients", "spec")
CAPABILITIES: Final = tuple(CAPABILITY_PROBES)
# main: the catalogue; load: checks that stress the target (they run after every main check);
# probe: runs after the load checks, to tell whether the target survived them.
STAGES: Final = ("main", "load", "probe")
DOCS_PAGE: Final = "docs/kit/checks.md"
__all__ = [
    "CAPABILITIES", "DOCS_PAGE", "LAYERS", "MODES", "REGISTRY", "STAGES", "Check", "CheckFailure",
    "CheckFunc", "CheckSkipped", "Outcome", "Severity", "check", "parse_sections",
]  # fmt: skip
_SECTIONS: Final = ("Why:", "Fix:")


@functools.total_ordering
class Severity(enum.Enum):
    """How much a failed check matters; ordered ``INFO < SHOULD < MUST``."""

    MUST = "MUST"  # a client of the matrix breaks or loses the answer, or the route refuses
    SHOULD = "SHOULD"  # clients only do extra work (retries); or the spec layer (--strict)
    INFO = "INFO"  # reported, never gating

    @property
    def rank(self) -> int:
        """Numeric order: INFO 0, SHOULD 1, MUST 2."""
        return ("INFO", "SHOULD", "MUST").index(self.value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Accept ``must``/``MUST``/a Severity; raise ValueError naming the valid values."""
        if isinstance(value, Severity):
            return value
        try:
            return cls(value.strip().upper())
        except ValueError:
            raise ValueError(f"unknown severity {value!r}; use MUST, SHOULD or INFO") from None


class Outcome(str, enum.Enum):
    """What happened when a check ran."""

    PASSED = "passed"
    FAILED = "failed"  # the check raised CheckFailure: the target misbehaved
    ERRORED = "errored"  # any other exception: the kit could not decide
    SKIPPED = "skipped"  # CheckSkipped: not applicable, capability refused, or blocked


class CheckSkipped(Exception):
    """The check does not apply: a capability was cleanly refused, or a prerequisite failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CheckFunc = Callable[["CheckContext"], "str | None"]


@dataclass(frozen=True)
class Check:
    """One registered check. ``summary`` is the first line of the function's docstring."""

    id: str
    severity: Severity
    modes: tuple[str, ...]
    summary: str
    func: CheckFunc
    requires: tuple[str, ...] = ()
    requests: int = 1  # upper bound of HTTP requests it sends (live mode prints the sum)
    after: tuple[str, ...] = ()  # checks whose failure blocks this one (they run first)
    stage: str = "main"
    why: str = ""  # the docstring's "Why:" section: what breaks when the check fails
    fix: str = ""  # the docstring's "Fix:" section: what a container author should change
    layer: str = "clients"  # "spec": the strict layer (see LAYERS)

    @property
    def docs(self) -> str:
        """The check's section in the generated checks page, relative to the repository."""
        return f"{DOCS_PAGE}#{self.anchor}"

    @property
    def anchor(self) -> str:
        """The id with dots replaced by hyphens: ``chat.max_tokens`` -> ``chat-max_tokens``."""
        return self.id.replace(".", "-")

    @property
    def area(self) -> str:
        """The id's first segment, e.g. ``sse`` for ``sse.done``."""
        return self.id.split(".", 1)[0]

    @property
    def level(self) -> str:
        """The severity as reports print it: ``MUST``, ``SHOULD``, ``SHOULD (spec)``, ``INFO``."""
        return level(self.severity, self.layer)

    def applies_to(self, mode: str) -> bool:
        """Whether the check runs in ``mode``."""
        return mode in self.modes


REGISTRY: dict[str, Check] = {}


def level(severity: Severity, layer: str) -> str:
    """``SHOULD (spec)`` for a check of the strict layer, else the severity's name."""
    return f"{severity.value} (spec)" if layer == "spec" else severity.value


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def check(
    id: str,
    severity: Severity | str,
    modes: str | Iterable[str] = MODES,
    *,
    requires: str | Iterable[str] = (),
    requests: int = 1,
    after: str | Iterable[str] = (),
    stage: str = "main",
    layer: str = "clients",
    registry: dict[str, Check] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function under a stable dotted id.

    Args:
        id: stable lowercase dotted id, ``<area>.<behaviour>``.
        severity: MUST, SHOULD or INFO.
        modes: the modes it runs in (direct, mock, live).
        requires: capabilities (tools, logprobs, n, include_usage) it needs; a clean 4xx
            refusal of the capability skips it, silently ignoring it fails it.
        requests: upper bound of HTTP requests the check sends.
        after: ids of prerequisite checks; when one fails, this check is reported as blocked
            by it instead of failing for the same reason. They must be registered first.
        stage: ``main``; ``load`` for checks that stress the target (run after the others);
            ``probe`` for the liveness check that follows them.
        layer: ``clients`` (the default: the severity rests on what clients do) or ``spec``:
            the specification requires it but no client needs it. A ``spec`` check is a
            SHOULD and fails a run only with ``--strict`` (``strict=True``).
        registry: register elsewhere than the global REGISTRY (for tests).

    The docstring's first line is the summary; optional ``Why:`` and ``Fix:`` paragraphs say
    what breaks when the check fails and how to fix it (failure reports and the docs use them).

    Raises:
        ValueError: duplicate id, malformed id, unknown mode, capability, stage or
            prerequisite, or no docstring.
    """
    target = REGISTRY if registry is None else registry
    mode_tuple, needs = _as_tuple(modes), _as_tuple(requires)
    if id in target:
        raise ValueError(f"duplicate check id {id!r}: ids must be unique, rename one of them")
    if "." not in id or id != id.lower() or " " in id:
        raise ValueError(f"check id {id!r} must be lowercase and dotted, like 'sse.done'")
    if not mode_tuple or set(mode_tuple) - set(MODES):
        raise ValueError(f"check {id!r}: modes must be a non-empty subset of {MODES}")
    if set(needs) - set(CAPABILITIES):
        raise ValueError(f"check {id!r}: requires must be among {CAPABILITIES}")
    if stage not in STAGES:
        raise ValueError(f"check {id!r}: stage must be one of {STAGES}")
    if layer not in LAYERS:
        raise ValueError(f"check {id!r}: layer must be one of {LAYERS}")
    prerequisites = _as_tuple(after)
    unknown = [p for p in prerequisites if p not in target]
    if unknown:
        raise ValueError(f"check {id!r}: register its prerequisites {unknown} before it")
    if any(STAGES.index(target[p].stage) > STAGES.index(stage) for p in prerequisites):
        raise ValueError(f"check {id!r}: a prerequisite cannot run in a later stage")
    sev = Severity.parse(severity)
    if layer == "spec" and sev is not Severity.SHOULD:
        raise ValueError(
            f"check {id!r}: a check of the spec layer is a SHOULD (no client needs it); "
            "make it SHOULD, or name the client that breaks and keep layer 'clients'"
        )

    def decorator(func: CheckFunc) -> CheckFunc:
        doc = inspect.getdoc(func)
        if not doc:
            raise ValueError(f"check {id!r}: add a docstring; its first line is the summary")
        summary = doc.strip().splitlines()[0]
        sections = parse_sections(doc)
        target[id] = Check(
            id,
            sev,
            mode_tuple,
            summary,
            func,
            needs,
            requests,
            prerequisites,
            stage,
            sections.get("Why:", ""),
            sections.get("Fix:", ""),
            layer,
        )
        return func

    return decorator


def parse_sections(doc: str) -> dict[str, str]:
    """The ``Why:`` and ``Fix:`` paragraphs of a docstring, each joined into one line."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in doc.splitlines()[1:]:
        stripped = line.strip()
        marker = next((m for m in _SECTIONS if stripped.startswith(m)), None)
        if marker is not None:
            current = sections.setdefault(marker, [])
            stripped = stripped[len(marker) :].strip()
        if current is not None and stripped:
            current.append(stripped)
    return {marker: " ".join(words) for marker, words in sections.items()}
