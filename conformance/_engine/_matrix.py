"""The client matrix's verdicts: what each real client made of the target.

``conformance._clients`` runs the clients and builds these; the report carries them and every
format prints them. A client is READY when each step of its scripted exchange got what the
user asked for, NOT READY with the client's own exception or the wrong answer it produced, and
SKIPPED (with the reason) when it could not run here: no runtime, not installed, or a mode it
has no meaning in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final

# The scripted exchange every client runs, in order: a plain answer, a stream, a tool call,
# the tool result sent back, and a stream that asks for usage.
STEPS: Final = ("answer", "stream", "tool_call", "followup", "usage")


class Readiness(str, enum.Enum):
    """A client's verdict."""

    READY = "READY"
    NOT_READY = "NOT READY"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    """One step of a client's exchange: ``ok``, and what it got or how it failed."""

    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """``{"step", "ok", "detail", "seconds"}``."""
        return {
            "step": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ClientResult:
    """One client of the matrix against the target."""

    client: str  # the catalogue's id, e.g. "openai-python-async"
    title: str  # what users know it as: "openai-python (async)"
    version: str  # the client's own version, as it reports it ("?" when it could not say)
    runtime: str  # "python 3.11.7", "node v20.20.2"
    readiness: Readiness
    message: str = ""  # NOT READY: the first broken step's detail; skipped: why
    steps: tuple[Step, ...] = field(default=())

    @property
    def ready(self) -> bool:
        """Every step got what was asked for."""
        return self.readiness is Readiness.READY

    def step(self, name: str) -> Step | None:
        """The step called ``name``, if the client ran it."""
        return next((s for s in self.steps if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's shape for one client."""
        return {
            "client": self.client,
            "title": self.title,
            "version": self.version,
            "runtime": self.runtime,
            "readiness": self.readiness.value,
            "message": self.message,
            "steps": [s.to_dict() for s in self.steps],
        }


def from_steps(
    client: str, title: str, version: str, runtime: str, steps: tuple[Step, ...]
) -> ClientResult:
    """READY when every step is ok; else NOT READY with the first broken step's detail."""
    broken = next((s for s in steps if not s.ok), None)
    if broken is None and steps:
        return ClientResult(client, title, version, runtime, Readiness.READY, "", steps)
    message = f"{broken.name}: {broken.detail}" if broken else "the client ran no step"
    return ClientResult(client, title, version, runtime, Readiness.NOT_READY, message, steps)
