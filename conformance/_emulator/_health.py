"""SageMaker's health check in front of a container: no 200 from GET /ping, no traffic.

SageMaker routes only to a container that answers ``GET /ping`` with 200 within 2 s; one that
fails never goes InService. The emulator pings a container before it first forwards to it, and
again after a failure (at most every ``recheck_s``), and answers SageMaker's error for an
endpoint that is not in service meanwhile (``_errors.FAULTS["NotInService"]``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

import httpx
from starlette.responses import Response

from ._errors import fault_response
from ._forward import RouteError, Target

if TYPE_CHECKING:
    from ._config import EmulatorConfig

logger = logging.getLogger("conformance.emulator")

PING_BYTES: Final = 65_536  # a /ping answer is empty; more than this never ends in time


class NotInService(RouteError):
    """The container failed its health check; ``response()`` is SageMaker's own answer."""

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.status_code, "not in service", "ValidationError")
        self.answer = answer

    def response(self) -> Response:
        return self.answer


class HealthGate:
    """Pings each container URL until it answers 200; remembers the verdict.

    A healthy container stays healthy until forwarding to it fails; an unhealthy one is asked
    again once ``recheck_s`` has passed, so a container that finishes starting gets traffic.
    The in-process reference is not a container behind the route and is never pinged.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self._timeout = config.ping_timeout
        self._recheck_s = config.ping_recheck_s
        self._clock = config.clock
        self._region = config.region
        self._healthy: set[str] = set()
        self._failed: dict[str, tuple[float, str]] = {}  # url -> (when, why)

    async def check(self, target: Target, endpoint: str, component: str | None) -> None:
        """Raise NotInService, SageMaker's answer, unless ``target`` passes its health check."""
        why = await self.why_unhealthy(target)
        if why is not None:
            detail = (
                f"{why}; fix the container's /ping, or start the emulator with "
                "--no-health-check while it is still starting"
            )
            answer = fault_response(
                "NotInService",
                region=self._region,
                endpoint=endpoint,
                component=component,
                detail=detail,
            )
            raise NotInService(answer)

    async def why_unhealthy(self, target: Target) -> str | None:
        """None if ``target`` may get traffic, else why its last health check failed."""
        if target.in_process or target.url in self._healthy:
            return None
        now = self._clock()
        failed = self._failed.get(target.url)
        if failed is not None and now - failed[0] < self._recheck_s:
            return failed[1]
        why = await self._ping(target.url)
        if why is None:
            self._healthy.add(target.url)
            self._failed.pop(target.url, None)
        else:
            logger.warning("%s failed its health check: %s", target.label, why)
            self._failed[target.url] = (now, why)
        return why

    def forget(self, target: Target) -> None:
        """Forwarding failed: ask the container's /ping again before the next request."""
        self._healthy.discard(target.url)

    async def _ping(self, url: str) -> str | None:
        late = f"GET /ping did not answer within {self._timeout:g} s"
        try:
            # One deadline for the whole answer: a /ping that trickles bytes fails too.
            return await asyncio.wait_for(self._get(url), self._timeout)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            return late
        except httpx.HTTPError as exc:
            return f"GET /ping failed ({type(exc).__name__})"

    async def _get(self, url: str) -> str | None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(self._timeout), trust_env=False) as client,
            client.stream("GET", url + "/ping") as response,
        ):
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > PING_BYTES:
                    return f"GET /ping sent more than {PING_BYTES} bytes"
        if response.status_code != 200:
            return f"GET /ping answered HTTP {response.status_code}, not 200"
        return None
