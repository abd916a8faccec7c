"""Over real loopback sockets: bytes pass through unchanged, and streams stay paced."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from emulator.emulator_support import CREDS, STUB_CHUNKS, bearer

from conformance._emulator import EmulatorConfig
from conformance._emulator._harness import run_emulator, serve_app
from conformance._reference import ReferenceConfig, create_reference_app

ITL_MS = 30
TOKENS = 10
CHAT_BODY = {
    "model": "",
    "messages": [{"role": "user", "content": "tell me a long story about streams"}],
    "stream": True,
    "max_tokens": TOKENS,
}


def chat_url(base: str, endpoint: str = "demo-endpoint", component: str | None = None) -> str:
    ic = f"/inference-components/{component}" if component else ""
    return f"{base}/endpoints/{endpoint}{ic}/openai/v1/chat/completions"


def timed_events(url: str, body: dict[str, object], headers: dict[str, str]) -> list[float]:
    """Arrival time of each complete SSE event, stamped when its last byte was read."""
    arrivals: list[float] = []
    buffer = b""
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            now = time.monotonic()
            buffer += chunk
            while b"\n\n" in buffer:
                _, buffer = buffer.split(b"\n\n", 1)
                arrivals.append(now)
    return arrivals


@contextmanager
def reference_behind_emulator(mode: str, **settings: object) -> Iterator[str]:
    """The reference with ``settings`` behind the emulator: in-process, or on its own port."""
    reference = ReferenceConfig(**settings)  # type: ignore[arg-type]
    if mode == "in_process":
        config = EmulatorConfig(credentials=(CREDS,), reference=reference)
        with run_emulator(config) as base:
            yield base
        return
    with serve_app(create_reference_app(reference)) as container:
        config = EmulatorConfig(credentials=(CREDS,), endpoints={"demo-endpoint": container})
        with run_emulator(config) as base:
            yield base


@pytest.mark.parametrize("repeat", [1, 40])
def test_bytes_through_the_emulator_equal_the_containers(stub_url: str, repeat: int) -> None:
    body = {"repeat": repeat}
    direct = httpx.post(f"{stub_url}/v1/chat/completions", json=body)
    config = EmulatorConfig(credentials=(CREDS,), endpoints={"demo-endpoint": stub_url})
    with run_emulator(config) as base:
        routed = httpx.post(chat_url(base), json=body, headers=bearer())
    assert routed.status_code == direct.status_code == 200
    assert routed.content == direct.content == b"".join(STUB_CHUNKS) * repeat
    assert routed.headers["content-type"] == direct.headers["content-type"]


@pytest.mark.parametrize("mode", ["in_process", "own_port"])
def test_stream_arrives_paced_not_in_a_burst(mode: str) -> None:
    with reference_behind_emulator(mode, itl_ms=ITL_MS) as base:
        arrivals = timed_events(chat_url(base), CHAT_BODY, bearer())
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= TOKENS
    # Paced: most gaps are near the inter-token latency, and the stream spans the tokens.
    assert statistics.median(gaps) >= ITL_MS / 1000 / 2
    assert arrivals[-1] - arrivals[0] >= (TOKENS - 2) * ITL_MS / 1000 * 0.8


def test_a_buffered_container_is_seen_as_one_burst() -> None:
    """Control: the same measurement does tell a burst apart, so the pacing test can fail."""
    with reference_behind_emulator("in_process", itl_ms=ITL_MS, faults={"buffered"}) as base:
        arrivals = timed_events(chat_url(base), CHAT_BODY, bearer())
    assert len(arrivals) >= TOKENS
    assert arrivals[-1] - arrivals[0] < ITL_MS / 1000


def test_reference_serves_every_unmapped_name(stub_url: str) -> None:
    config = EmulatorConfig(
        credentials=(CREDS,), endpoints={"mapped": stub_url}, reference=ReferenceConfig()
    )
    body = {**CHAT_BODY, "stream": False}
    with run_emulator(config) as base:
        anywhere = httpx.post(
            chat_url(base, "any-name", "any-component"), json=body, headers=bearer()
        )
        mapped = httpx.post(chat_url(base, "mapped"), json={"tag": True}, headers=bearer())
    assert anywhere.status_code == 200
    assert anywhere.json()["object"] == "chat.completion"
    assert mapped.json() == {"tag": "stub"}


def test_a_client_leaving_mid_stream_does_not_wedge_the_emulator() -> None:
    with reference_behind_emulator("in_process", itl_ms=ITL_MS) as base:
        with httpx.Client(timeout=5) as client:
            with client.stream("POST", chat_url(base), json=CHAT_BODY, headers=bearer()) as resp:
                next(resp.iter_raw())
            started = time.monotonic()
            again = client.post(
                chat_url(base), json={**CHAT_BODY, "stream": False}, headers=bearer()
            )
        assert again.status_code == 200
        assert time.monotonic() - started < 2
