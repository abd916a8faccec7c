"""Instance-hour cost: an endpoint's hourly price, shared by the requests it serves at once.

SageMaker bills a real-time endpoint per instance-hour, not per token. With
``instance_cost_per_hour`` set on a deployment, each request is charged for the instance time it
held: from the moment it is sent until its answer has been read (a stream: until its last byte,
or until it is closed). Requests that overlap share the instances: while ``n`` requests to a
deployment are in flight and it has ``instance_count`` instances, each one accrues
``min(1, instance_count / n)`` instance-seconds per second. So a lone request pays the whole
instance for its duration, two overlapping requests each pay half while they overlap, and the
costs of all requests add up to the instance time the deployment was busy. Idle time is charged
to no request (docs/provider/production.md says why, and how to spread it).

Counting is per process, with O(1) work under one lock at each start and end: a pool per
(route URL, instance count) keeps ``held``, the instance-seconds one request has accrued since
the pool last had a request in flight. A request's cost is the difference between ``held`` at
its end and at its start. The interval is tied to the HTTP response: it ends when the response
closes, whichever path closes it (read to the end, an error, ``close()``, garbage collection).

litellm-free: the stated cost reaches LiteLLM through ``_send``/``_stream`` and ``_register``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Final

import httpx

from ._exceptions import ConfigurationError
from ._number import read_number

SECONDS_PER_HOUR: Final = 3600.0
# LiteLLM's own per-deployment prices (its "custom pricing" keys): a second basis for one
# deployment's cost, which instance_cost_per_hour would silently override.
TOKEN_PRICES: Final = (
    "input_cost_per_token",
    "output_cost_per_token",
    "input_cost_per_second",
    "output_cost_per_second",
    "cost_per_second",
    "cost_per_query",
)


def as_positive(value: Any, name: str) -> float:
    """A finite number above zero; a YAML or environment string is read as one."""
    number = read_number(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigurationError(
            f"{name} must be a number above 0, got {value!r}; e.g. `{name}: 1.21` in the "
            "deployment's litellm_params"
        )
    return number


def check_one_basis(params: Mapping[str, Any]) -> None:
    """Refuse a deployment priced per instance-hour and per token (or per second) at once."""
    both = [key for key in TOKEN_PRICES if params.get(key) not in (None, "")]
    if both:
        raise ConfigurationError(
            f"instance_cost_per_hour and {', '.join(both)} are two prices for one deployment; "
            "keep instance_cost_per_hour to charge instance time, or remove it to charge tokens"
        )


class _Pool:
    """The requests in flight to one deployment, and the instance time one of them accrued."""

    __slots__ = ("busy", "held", "instances", "since")

    def __init__(self, instances: float, now: float) -> None:
        self.instances = instances
        self.busy = 0
        self.held = 0.0  # instance-seconds accrued by a request in flight since the pool opened
        self.since = now

    def advance(self, now: float) -> None:
        if self.busy:
            self.held += min(1.0, self.instances / self.busy) * (now - self.since)
        self.since = now


class Interval:
    """One request's hold on a pool; :meth:`stop` ends it once and returns its instance-seconds."""

    __slots__ = ("_key", "_meter", "_pool", "_start", "per_hour", "seconds")

    def __init__(self, meter: Meter, key: object, pool: _Pool, per_hour: float) -> None:
        self._meter, self._key, self._pool = meter, key, pool
        self._start = pool.held
        self.per_hour = per_hour
        self.seconds: float | None = None

    def stop(self) -> float:
        """End the hold (idempotent) and return the instance-seconds it accrued."""
        if self.seconds is None:
            self.seconds = self._meter.release(self._key, self._pool, self._start)
        return self.seconds

    @property
    def cost(self) -> float | None:
        """The price of the instance time held, once stopped."""
        if self.seconds is None:
            return None
        return self.seconds * self.per_hour / SECONDS_PER_HOUR


class Meter:
    """Every pool of this process; thread-safe (sync calls run on many threads, async on loops)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pools: dict[object, _Pool] = {}

    def start(self, key: str, instances: float, per_hour: float) -> Interval:
        """A request to ``key`` starts now."""
        pool_key = (key, instances)
        with self._lock:
            now = self._clock()
            pool = self._pools.get(pool_key)
            if pool is None:
                pool = self._pools[pool_key] = _Pool(instances, now)
            pool.advance(now)
            pool.busy += 1
            return Interval(self, pool_key, pool, per_hour)

    def release(self, key: object, pool: _Pool, start: float) -> float:
        with self._lock:
            pool.advance(self._clock())
            pool.busy -= 1
            if not pool.busy and self._pools.get(key) is pool:
                del self._pools[key]  # no request left holds a start in it
            return pool.held - start

    def in_flight(self) -> int:
        """Requests being metered right now (tests check nothing is left behind)."""
        with self._lock:
            return sum(pool.busy for pool in self._pools.values())


METER: Final = Meter()


class _SyncMetered(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, interval: Interval) -> None:
        self._stream, self.interval = stream, interval

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self.interval.stop()


class _AsyncMetered(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, interval: Interval) -> None:
        self._stream, self.interval = stream, interval

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self.interval.stop()


def start(url: str, per_hour: float | None, instances: float) -> Interval | None:
    """Start metering a request to ``url``, or None when its deployment has no hourly price."""
    return None if per_hour is None else METER.start(url, instances, per_hour)


def attach(response: httpx.Response, interval: Interval | None) -> httpx.Response:
    """Make closing ``response`` end ``interval``; a response is always closed (see _send)."""
    if interval is not None:
        stream = response.stream
        if isinstance(stream, httpx.AsyncByteStream):
            response.stream = _AsyncMetered(stream, interval)
        elif isinstance(stream, httpx.SyncByteStream):
            response.stream = _SyncMetered(stream, interval)
        else:  # not a stream httpx closes: nothing would end the interval
            interval.stop()
    return response


def cost_of(response: httpx.Response) -> float | None:
    """The instance cost of a closed response, or None when its deployment has no hourly price."""
    stream = response.stream
    return stream.interval.cost if isinstance(stream, _SyncMetered | _AsyncMetered) else None
