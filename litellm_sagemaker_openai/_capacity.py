"""``wait_for_capacity``: wait for an inference component scaling from zero, one probe at a time.

A component scaled to zero refuses every call (``SageMakerNoCapacityError``) until a copy is in
service, minutes after the first refusal started the scale-out. A call with a waiting budget
does not fail on that refusal: it waits, and retries when it is its turn.

Every caller of one URL (endpoint and component) in this process shares one record of it being
cold. Only one of them at a time sends a call, the probe, and only when the record's pause has
run; the others wait to be woken. The probe is the prober's own call, so a probe that gets
through is that caller's answer. Then the record is dropped and every waiter sends its own call
at once. A refused probe sets the next pause, which grows with the time waited so far: an eighth
of it, so a caller learns of the copy at most about 12% after it came, and never more than
:data:`MAX_PAUSE_S` apart; drawn from the upper half of that (jitter), so that the processes of
a fleet do not probe in step.

Sync callers wait on an event in their own thread; async callers await a future on their own
loop, and hold no thread (an async stream's open runs on the caller's loop: ``_open.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from ._errors import SageMakerNoCapacityError, build_error, no_capacity_hint
from ._request import Call

T = TypeVar("T")
FIRST_PAUSE_S: Final = 0.25
GROWTH: Final = 0.125  # each pause is at most this fraction of the time waited so far
MAX_PAUSE_S: Final = 15.0
_JITTER: Final = random.Random()  # its own generator: callers seeding `random` do not sync it


def pause(waited: float, draw: Callable[[], float] = _JITTER.random) -> float:
    """Seconds before the next probe, after ``waited`` seconds of waiting: jittered, growing."""
    ceiling = min(MAX_PAUSE_S, max(FIRST_PAUSE_S, waited * GROWTH))
    return ceiling * (0.5 + 0.5 * draw())


class _Cold:
    """One URL known to be scaling from zero: when the next probe may go, and who waits."""

    __slots__ = ("next_at", "probing", "since", "wakers")

    def __init__(self, now: float, wakers: list[Callable[[], None]]) -> None:
        self.since = now
        self.next_at = now + pause(0.0)
        self.probing = False
        self.wakers = wakers


_COLD: dict[str, _Cold] = {}
_LOCK: Final = threading.Lock()  # sync callers' threads and every loop share the records


def _turn(url: str, waker: Callable[[], None]) -> tuple[bool, float | None]:
    """Whether this caller sends as the probe, and when to look again if it must wait (None: send).

    A caller told to wait is woken by ``waker`` when a probe ends, and must call ``_leave``.
    """
    now = time.monotonic()
    with _LOCK:
        cold = _COLD.get(url)
        if cold is None:
            return False, None
        if not cold.probing and now >= cold.next_at:
            cold.probing = True
            return True, None
        cold.wakers.append(waker)
        return False, math.inf if cold.probing else cold.next_at


def _leave(url: str, waker: Callable[[], None]) -> None:
    with _LOCK:
        cold = _COLD.get(url)
        if cold is not None and waker in cold.wakers:
            cold.wakers.remove(waker)


def _settle(url: str, exc: BaseException | None, *, probed: bool) -> bool:
    """Record how a call ended; whether it was a no-capacity refusal, which a caller may wait out.

    A served call drops the record and wakes every waiter. A probe that failed sets the next
    pause; one cut short (cancelled, interrupted) lets the next waiter probe at once.
    """
    refused = isinstance(exc, SageMakerNoCapacityError)
    if url not in _COLD and not refused:
        return False  # the common case: a call to a warm component, no lock taken
    now = time.monotonic()
    with _LOCK:
        cold = _COLD.get(url)
        stale = cold is not None and not cold.probing and now - cold.next_at > MAX_PAUSE_S
        if cold is None or (refused and stale):
            # No record, or one nobody has probed for a while (a new scale-out): start afresh.
            if refused:
                _COLD[url] = _Cold(now, cold.wakers if cold else [])
            return refused
        if exc is None:
            del _COLD[url]
        elif probed:
            cold.probing = False
            if isinstance(exc, Exception):
                cold.next_at = now + pause(now - cold.since)
        else:
            return refused
        wakers, cold.wakers = cold.wakers, []
    for wake in wakers:
        wake()
    return refused


class _Budget:
    """One call's waiting budget, and its end."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.seconds = call.options.wait_for_capacity
        self.deadline = time.monotonic() + self.seconds

    def left(self, until: float) -> float:
        """Seconds to wait now: until ``until`` or the deadline; raises when the budget is spent."""
        now = time.monotonic()
        if now >= self.deadline:
            call = self.call
            message = (
                f"{no_capacity_hint(call.ref)} (waited wait_for_capacity={self.seconds:g} s; "
                "raise it to wait longer)"
            )
            raise build_error(SageMakerNoCapacityError, message, model=call.model, status=429)
        return min(until, self.deadline) - now


def wait_sync(call: Call, send: Callable[[], T]) -> T:
    """``send()``, waiting out no-capacity refusals within the call's ``wait_for_capacity``."""
    budget = _Budget(call)
    event = threading.Event()
    while True:
        probed = False
        if budget.seconds > 0:
            probed, until = _turn(call.url, event.set)
            if until is not None:
                try:
                    event.wait(budget.left(until))
                finally:
                    _leave(call.url, event.set)
                    event.clear()
                continue
        try:
            result = send()
        except BaseException as exc:
            if not _settle(call.url, exc, probed=probed) or budget.seconds <= 0:
                raise
            continue
        _settle(call.url, None, probed=probed)
        return result


async def wait_async(call: Call, send: Callable[[], Awaitable[T]]) -> T:
    """Async twin of :func:`wait_sync`: waits on the caller's loop, holding no thread."""
    budget = _Budget(call)
    loop = asyncio.get_running_loop()
    while True:
        probed = False
        if budget.seconds > 0:
            woken: asyncio.Future[None] = loop.create_future()

            def waker(woken: asyncio.Future[None] = woken) -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(_resolve, woken)

            probed, until = _turn(call.url, waker)
            if until is not None:
                try:
                    await asyncio.wait({woken}, timeout=budget.left(until))
                finally:
                    _leave(call.url, waker)
                continue
        try:
            result = await send()
        except BaseException as exc:
            if not _settle(call.url, exc, probed=probed) or budget.seconds <= 0:
                raise
            continue
        _settle(call.url, None, probed=probed)
        return result


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
