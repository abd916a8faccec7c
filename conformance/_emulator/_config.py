"""The emulator's configuration: region, trusted credentials, and where each name is served."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from litellm_sagemaker_openai import validate_name, validate_region

from .._wire._target import validate_base_url
from ._capacity import check_provisioning
from ._credentials import TestCredentials
from ._errors import FAULTS
from ._forward import REFERENCE_URL

if TYPE_CHECKING:
    from conformance._reference import ReferenceConfig


def validate_container_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is an absolute http(s) base URL."""
    return validate_base_url(url, "container URL")


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the SageMaker route emulator needs.

    Attributes:
        region: the region the emulated endpoint lives in; credentials scoped to any other
            region are refused.
        credentials: the test key pairs whose signatures are trusted.
        endpoints: endpoint name -> container base URL.
        components: (endpoint, inference component) -> container base URL.
        reference: when set, the built-in reference container (this configuration) serves
            every endpoint and component that is not mapped explicitly, in-process. When
            ``None``, unmapped names get 404. A name mapped to ``REFERENCE_URL`` is served by
            it too, and is listed by the control plane like any mapped name.
        clock: returns the current time in epoch seconds; inject one to test expiry.
        connect_timeout: seconds to wait for a container connection before answering 502.
        read_timeout: seconds to wait for each piece of a container response before 504.
        throttle_rate: the fraction (0 to 1) of authenticated, routable requests answered
            ``429 ThrottlingException`` with ``Retry-After: 0`` instead of being forwarded;
            for load tests of retry logic.
        throttle_seed: seeds the throttle's draws, so the same request sequence is throttled
            the same way in every run.
        faults: (endpoint, component or None) -> the name of one of SageMaker's own errors
            (``_errors.FAULTS``), answered to every call to that name after the token check.
        scale_to_zero: (endpoint, inference component) -> provisioning seconds. Each starts at
            zero copies: calls get SageMaker's no-capacity 400 until that long after the first
            one (see ``_capacity.py``). A component not mapped otherwise is served by the
            reference container once it has scaled out.
        health_check: ping each container (``GET /ping``) before forwarding to it, as
            SageMaker does, and answer ``NotInService`` while it fails (``_health.py``). The
            command line turns it on; off here, for stub containers without /ping.
        ping_timeout: seconds a container's /ping has to answer 200 (SageMaker allows 2).
        ping_recheck_s: seconds before a container that failed its health check is pinged again.
    """

    region: str = "us-east-1"
    credentials: tuple[TestCredentials, ...] = ()
    endpoints: Mapping[str, str] = field(default_factory=dict)
    components: Mapping[tuple[str, str], str] = field(default_factory=dict)
    reference: ReferenceConfig | None = None
    clock: Callable[[], float] = time.time
    connect_timeout: float = 3.0
    read_timeout: float = 60.0
    throttle_rate: float = 0.0
    throttle_seed: int = 0
    faults: Mapping[tuple[str, str | None], str] = field(default_factory=dict)
    scale_to_zero: Mapping[tuple[str, str], float] = field(default_factory=dict)
    health_check: bool = False
    ping_timeout: float = 2.0
    ping_recheck_s: float = 5.0

    def __post_init__(self) -> None:
        validate_region(self.region)
        endpoints = {
            validate_name(name): validate_container_url(url) for name, url in self.endpoints.items()
        }
        components = {
            (validate_name(ep), validate_name(ic, "inference component")): validate_container_url(
                url
            )
            for (ep, ic), url in self.components.items()
        }
        for (ep, ic), fault in self.faults.items():
            validate_name(ep)
            if ic is not None:
                validate_name(ic, "inference component")
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)}")
        object.__setattr__(self, "faults", MappingProxyType(dict(self.faults)))
        cold = {
            (validate_name(ep), validate_name(ic, "inference component")): check_provisioning(s)
            for (ep, ic), s in self.scale_to_zero.items()
        }
        for key in cold:
            components.setdefault(key, REFERENCE_URL)
        # Read-only views keep the frozen promise: nobody can remap a live emulator.
        object.__setattr__(self, "credentials", tuple(self.credentials))
        object.__setattr__(self, "endpoints", MappingProxyType(endpoints))
        object.__setattr__(self, "components", MappingProxyType(components))
        object.__setattr__(self, "scale_to_zero", MappingProxyType(cold))
        declared = [*endpoints.values(), *components.values()]
        if self.reference is None and REFERENCE_URL in declared:
            raise ValueError(
                "a name declared without a container URL is served by the reference container; "
                "add --reference, or give it one with NAME=URL"
            )
        if min(self.connect_timeout, self.read_timeout, self.ping_timeout) <= 0:
            raise ValueError("timeouts must be positive seconds")
        if not 0.0 <= self.throttle_rate <= 1.0:
            raise ValueError(f"throttle_rate must be between 0 and 1, got {self.throttle_rate}")


def parse_endpoint_flag(value: str) -> tuple[str, str]:
    """Parse ``NAME=URL`` from ``--endpoint``; a bare ``NAME`` is served by the reference."""
    name, sep, url = value.partition("=")
    if sep and not url:
        raise ValueError(f"--endpoint expects NAME=URL or NAME, got {value!r}")
    return validate_name(name), validate_container_url(url) if sep else REFERENCE_URL


def parse_component_flag(value: str) -> tuple[tuple[str, str], str]:
    """Parse ``EP/IC=URL`` from ``--component``; a bare ``EP/IC`` is served by the reference."""
    names, sep, url = value.partition("=")
    endpoint, slash, component = names.partition("/")
    if not slash or (sep and not url):
        raise ValueError(
            f"--component expects ENDPOINT/COMPONENT=URL or ENDPOINT/COMPONENT, got {value!r}"
        )
    key = (validate_name(endpoint), validate_name(component, "inference component"))
    return key, validate_container_url(url) if sep else REFERENCE_URL
