"""Inference components scaled to zero: SageMaker's no-capacity refusal, then the scale-out.

A component that scaled to zero has no copy to serve a call. SageMaker refuses every call with
a ``400 ValidationError`` until a copy is in service, and the refused calls are what start the
scale-out (they raise the ``NoCapacityInvocationFailures`` metric that the step-scaling alarm
watches). Here the first refused call starts a provisioning clock; once it has run, the
component serves like any other. Sources and inferences: docs/local-testing/emulator.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final

from starlette.responses import Response

from litellm_sagemaker_openai import validate_name

from ._forward import aws_error

# AWS's documented message for InvokeEndpoint ("Scale an endpoint to zero instances").
NO_CAPACITY: Final = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may "
    "be in-progress (if configured) or try to increase the capacity by invoking "
    "UpdateInferenceComponentRuntimeConfig API."
)
# botocore keeps what comes before the colon as the error code; the namespace after it is the
# form AWS's JSON services write, inferred for this error.
ERROR_TYPE: Final = "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/"
DEFAULT_PROVISION_S: Final = 180.0

Key = tuple[str, str]


class Capacity:
    """Which components are at zero copies, and when each one's scale-out ends."""

    def __init__(self, cold: Mapping[Key, float], clock: Callable[[], float]) -> None:
        self._cold = dict(cold)
        self._ready_at: dict[Key, float] = {}
        self._clock = clock
        self.refused: Counter[Key] = Counter()  # refused calls per component, for tests
        # How long after its scale-out ended the first call came: how soon callers noticed.
        self.noticed_after: dict[Key, float] = {}

    def __repr__(self) -> str:
        return f"Capacity(cold={sorted(self._cold)})"

    def refusal(self, endpoint: str, component: str | None) -> Response | None:
        """SageMaker's refusal while ``component`` has no copy, or None once it serves."""
        key = (endpoint, component or "")
        seconds = self._cold.get(key)
        if seconds is None:
            return None
        now = self._clock()
        ready_at = self._ready_at.setdefault(key, now + seconds)  # this call starts it
        if now >= ready_at:
            del self._cold[key]  # in service from now on
            self.noticed_after[key] = now - ready_at
            return None
        self.refused[key] += 1
        return aws_error(400, NO_CAPACITY, ERROR_TYPE)


def parse_scale_to_zero_flag(value: str) -> tuple[Key, float]:
    """Parse ``EP/IC[=SECONDS]`` from ``--scale-to-zero``; SECONDS defaults to 180."""
    names, sep, seconds = value.partition("=")
    endpoint, slash, component = names.partition("/")
    if not slash or (sep and not seconds):
        raise ValueError(
            "--scale-to-zero expects ENDPOINT/COMPONENT or ENDPOINT/COMPONENT=SECONDS, "
            f"got {value!r}"
        )
    key = (validate_name(endpoint), validate_name(component, "inference component"))
    try:
        provisioning = float(seconds) if sep else DEFAULT_PROVISION_S
    except ValueError:
        raise ValueError(f"--scale-to-zero: SECONDS must be a number, got {seconds!r}") from None
    return key, check_provisioning(provisioning)


def check_provisioning(seconds: float) -> float:
    """A provisioning time in seconds: zero or more, and finite."""
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"a provisioning time is zero or more seconds, got {seconds}")
    return seconds
