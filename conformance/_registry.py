"""The check registry: severities, outcomes, the ``@check`` decorator and check exceptions."""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ._capabilities import CAPABILITY_PROBES

if TYPE_CHECKING:
    from ._context import CheckContext

MODES: Final = ("direct", "mock", "live")
CAPABILITIES: Final = tuple(CAPABILITY_PROBES)


@functools.total_ordering
class Severity(enum.Enum):
    """How much a failed check matters; ordered ``INFO < SHOULD < MUST``."""

    MUST = "MUST"  # the route, the AWS sample client or an official OpenAI SDK breaks
    SHOULD = "SHOULD"  # popular third-party clients break, or OpenAI behaves otherwise
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


class CheckFailure(AssertionError):
    """The target violated the checked property.

    ``sent`` and ``received`` are JSON-able evidence (usually from ``Exchange.sent()`` and
    ``Exchange.received()``); reporters print them trimmed.
    """

    def __init__(self, message: str, *, sent: Any = None, received: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.sent = sent
        self.received = received


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

    @property
    def area(self) -> str:
        """The id's first segment, e.g. ``sse`` for ``sse.done``."""
        return self.id.split(".", 1)[0]

    def applies_to(self, mode: str) -> bool:
        """Whether the check runs in ``mode``."""
        return mode in self.modes


REGISTRY: dict[str, Check] = {}


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def check(
    id: str,
    severity: Severity | str,
    modes: str | Iterable[str] = MODES,
    *,
    requires: str | Iterable[str] = (),
    requests: int = 1,
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
        registry: register elsewhere than the global REGISTRY (for tests).

    Raises:
        ValueError: duplicate id, malformed id, unknown mode or capability, or no docstring.
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
    sev = Severity.parse(severity)

    def decorator(func: CheckFunc) -> CheckFunc:
        doc = inspect.getdoc(func)
        if not doc:
            raise ValueError(f"check {id!r}: add a docstring; its first line is the summary")
        summary = doc.strip().splitlines()[0]
        target[id] = Check(id, sev, mode_tuple, summary, func, needs, requests)
        return func

    return decorator
