"""Helpers for the kit's tests: byte splitting and tiny stand-in checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx

from conformance._engine._context import CheckContext
from conformance._engine._local import reference_target
from conformance._engine._runner import Report, run_checks
from conformance._wire._limits import Limits
from conformance.checks import select_checks

Upstream = tuple[int, dict[str, str], bytes]
Mutation = Callable[[httpx.Request, Upstream], Upstream]


def split_every(data: bytes, size: int) -> list[bytes]:
    """``data`` in pieces of ``size`` bytes (the last may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def awkward_splits(data: bytes) -> Iterator[list[bytes]]:
    """Every way of cutting ``data`` once, plus byte-by-byte: CRLF and UTF-8 get split too."""
    yield [data]
    yield split_every(data, 1)
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]


def fault_report(mode: str, faults: tuple[str, ...]) -> Report:
    """Run the whole kit against a reference container with ``faults`` switched on.

    Module-level so a spawned worker process can run it (the fault matrix runs two at a time).
    """
    # A stream held open after [DONE] is cut at the request timeout: 2 s keeps that case short.
    limits = Limits(request_timeout=2.0) if "done_then_hold" in faults else None
    with reference_target(mode, faults) as target:
        ctx = CheckContext(target, limits=limits)
        try:
            return run_checks(select_checks(), ctx)
        finally:
            ctx.close()


class Mutator(httpx.BaseTransport):
    """Forward to the real server, then let ``mutate`` rewrite the buffered answer."""

    def __init__(self, mutate: Mutation) -> None:
        self.inner = httpx.HTTPTransport()
        self.mutate = mutate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        response.close()
        headers = {
            k: v
            for k, v in response.headers.items()
            if k not in ("content-length", "transfer-encoding")
        }
        status, headers, body = self.mutate(request, (response.status_code, headers, body))
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))
