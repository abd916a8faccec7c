"""Start local targets in-process: the reference container, and the emulator in front of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

from .._wire._target import Target

KIT_ENDPOINT: Final = "conformance-kit"
KIT_REGION: Final = "us-east-1"
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
        from conformance._wire._serve import serve_app

        with serve_app(create_reference_app(ref)) as url:
            yield Target("direct", url, label=f"{label} at {url}", fault_factory=with_faults)
        return
    if mode != "mock":
        raise ValueError(f"the reference target runs in direct or mock mode, not {mode!r}")
    with _behind_emulator(label, fault_factory=with_faults, reference=ref) as target:
        yield target


@contextmanager
def emulated(container_url: str) -> Iterator[Target]:
    """Put the emulator (with fresh test credentials) in front of a running container."""
    base = container_url.rstrip("/")
    with _behind_emulator(base, endpoints={KIT_ENDPOINT: base}) as target:
        yield target


@contextmanager
def _behind_emulator(label: str, fault_factory: Any = None, **config: Any) -> Iterator[Target]:
    from conformance._emulator import EmulatorConfig, generate_test_credentials
    from conformance._emulator._harness import run_emulator

    creds = generate_test_credentials()
    emulator = EmulatorConfig(region=KIT_REGION, credentials=(creds,), **config)
    with run_emulator(emulator) as url:
        yield Target.mock(
            url,
            endpoint=KIT_ENDPOINT,
            region=KIT_REGION,
            access_key=creds.access_key_id,
            secret_key=creds.secret_access_key,
            label=f"{label} behind the emulator at {url}",
            fault_factory=fault_factory,
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
