"""Start local targets in-process: the reference container, and the emulator in front of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

from .._wire._limits import LOCAL_STOP_S
from .._wire._serve import serve_in_thread
from .._wire._target import Target

KIT_ENDPOINT: Final = "conformance-kit"
KIT_REGION: Final = "us-east-1"
LOOPBACK: Final = "127.0.0.1"
# The kit's own reference runs with a small decode delay so that streaming is observable
# (sse.incremental, container.ping during a generation) while the whole run stays fast.
KIT_REFERENCE: Final[dict[str, Any]] = {"ttft_ms": 2.0, "itl_ms": 1.0}


@contextmanager
def reference_target(
    mode: str = "mock", faults: Iterable[str] = (), **config: Any
) -> Iterator[Target]:
    """Serve the built-in reference container on loopback and yield a Target for it.

    In ``mock`` mode it sits behind the emulator (one server, the real route shape and real
    minted tokens); in ``direct`` mode the kit talks to it as a container. ``faults`` are
    reference fault switches; ``config`` overrides other ReferenceConfig fields.
    """
    from conformance._reference import ReferenceConfig, create_reference_app

    settings = {**KIT_REFERENCE, **config}
    ref = ReferenceConfig(faults=frozenset(faults), **settings)
    fault_list = sorted(ref.faults)
    label = "built-in reference container" + (
        f" (faults: {', '.join(fault_list)})" if fault_list else ""
    )

    def with_faults(extra: frozenset[str]) -> AbstractContextManager[Target]:
        return reference_target(mode, ref.faults | extra, **config)

    if mode == "direct":
        with serve_in_thread(
            create_reference_app(ref), LOOPBACK, 0, stop_within=LOCAL_STOP_S
        ) as url:
            yield Target("direct", url, label=f"{label} at {url}", fault_factory=with_faults)
        return
    if mode != "mock":
        raise ValueError(f"the reference target runs in direct or mock mode, not {mode!r}")
    # The emulator serves the reference in-process; the container contract (/ping,
    # /invocations) is checked on a copy of it served on its own port, as a container is.
    with (
        serve_in_thread(create_reference_app(ref), LOOPBACK, 0, stop_within=LOCAL_STOP_S) as own,
        _behind_emulator(label, fault_factory=with_faults, container=own, reference=ref) as target,
    ):
        yield target


@contextmanager
def emulated(container_url: str) -> Iterator[Target]:
    """Put the emulator (with fresh test credentials) in front of a running container.

    The emulator health-checks it as SageMaker does: a container whose /ping fails gets no
    traffic, so every client behind the route breaks on it (container.ping's evidence).
    """
    base = container_url.rstrip("/")
    with _behind_emulator(
        base, container=base, endpoints={KIT_ENDPOINT: base}, health_check=True
    ) as target:
        yield target


@contextmanager
def _behind_emulator(
    label: str, fault_factory: Any = None, container: str | None = None, **config: Any
) -> Iterator[Target]:
    from conformance._emulator import (
        EmulatorConfig,
        create_emulator_app,
        generate_test_credentials,
    )

    creds = generate_test_credentials()
    emulator = create_emulator_app(
        EmulatorConfig(region=KIT_REGION, credentials=(creds,), **config)
    )
    # Stopped within the run's wall (see WALL_SLACK), however the target left its connections.
    with serve_in_thread(emulator, LOOPBACK, 0, stop_within=LOCAL_STOP_S) as url:
        yield Target.mock(
            url,
            endpoint=KIT_ENDPOINT,
            region=KIT_REGION,
            access_key=creds.access_key_id,
            secret_key=creds.secret_access_key,
            label=f"{label} behind the emulator at {url}",
            fault_factory=fault_factory,
            container=container,
        )


@contextmanager
def local_target(target: str, mode: str) -> Iterator[Target]:
    """``"reference"`` or a container URL, in direct or mock mode."""
    if mode not in ("direct", "mock"):
        raise ValueError(
            f"mode {mode!r} needs a Target; for live mode use --endpoint NAME --region R"
        )
    if target == "reference":
        with reference_target(mode) as resolved:
            yield resolved
    elif mode == "direct":
        yield Target.direct(target)
    else:
        with emulated(Target.direct(target).base_url) as resolved:
            yield resolved
