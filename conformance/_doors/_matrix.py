"""The client matrix at the front doors: ``--clients`` and ``--install-clients``.

The matrix runs before the checks (the load checks come last and may leave a container
busy), with the run's request timeout for each step and at most half of what is left of the
budget. It never changes the exit code: the MUST checks carry the clients' evidence.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from .._clients import install_all, run_clients, select_clients
from .._engine._matrix import ClientResult
from .._engine._reporters import matrix_line
from .._wire._limits import Limits
from .._wire._target import Target


class Writer(Protocol):
    """Where progress lines go (the CLI's escaped stderr)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def run_matrix(
    target: Target,
    patterns: str | Iterable[str] | None,
    *,
    model: str,
    limits: Limits,
    err: Writer | None = None,
) -> tuple[ClientResult, ...]:
    """Run the selected clients against ``target``; ``"none"`` runs none."""
    clients = select_clients(patterns)
    if not clients:
        return ()
    remaining = limits.remaining()
    until = None if remaining is None else time.monotonic() + remaining / 2
    if err is not None:
        err.write(f"client matrix: {len(clients)} clients against {target.label}\n")
    results = run_clients(target, clients, model=model, timeout=limits.request_timeout, until=until)
    if err is not None:
        err.write("".join(f"  {matrix_line(r)}\n" for r in results))
    return results


def install_clients(err: Writer) -> int:
    """Install every client environment into the kit's cache; 0, or 1 with the problems."""
    problems = install_all(log=err)
    for problem in problems:
        err.write(f"  {problem}\n")
    if problems:
        err.write("some client environments could not be installed (see above)\n")
        return 1
    err.write("every client environment is installed\n")
    return 0
