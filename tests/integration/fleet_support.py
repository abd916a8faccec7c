"""A proxy fleet on loopback: a real Redis, N ``litellm`` proxies sharing it, counted upstreams.

Each replica signs with its own access key (as each pod of a fleet has its own IAM role), so an
upstream can tell which replica sent a request from the bearer token alone.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from integration.proxy_support import MASTER_KEY, proxy_env
from processes import start_proxy, start_redis, stop

from conformance._emulator import EmulatorConfig, TestCredentials, create_emulator_app
from conformance._emulator._harness import serve_app
from conformance._emulator._tokens import TokenRejected, verify_token
from conformance._reference import ReferenceConfig

CHAT_SUFFIX: Final = "/openai/v1/chat/completions"
# Generous: only catches a fleet that never converges (a replica that never sees Redis).
CONVERGE_DEADLINE_S: Final = 30.0
REPLICAS: Final = (
    TestCredentials("AKIAFLEETREPLICAONE1", "fleet/replica-one/secret+key/EXAMPLE01234"),
    TestCredentials("AKIAFLEETREPLICATWO2", "fleet/replica-two/secret+key/EXAMPLE56789"),
)
RPM: Final = 4  # the capped deployment's requests per minute, for the whole fleet
PROVIDER_MAP: Final = [
    {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}
]


def deployment(group: str, name: str, api_base: str, **params: Any) -> dict[str, Any]:
    """One deployment, its id pinned so that every replica names it alike (in Redis too)."""
    return {
        "model_name": group,
        "litellm_params": {
            "model": f"sagemaker_openai/{name}",
            "api_base": api_base,
            "aws_region_name": "us-east-1",
            **params,
        },
        "model_info": {"id": name},
    }


def fleet_config(throttled: str, healthy: str, redis_port: int | None) -> dict[str, Any]:
    """The fleet's config.yaml; without a Redis port the replicas share nothing."""
    redis = {} if redis_port is None else {"redis_host": "127.0.0.1", "redis_port": redis_port}
    return {
        "model_list": [
            # Retry-After: 0 from the route would mean "no cooldown": the deployment's own wins.
            deployment("fleet-cool", "cool-throttled", throttled, cooldown_time=300),
            deployment("fleet-cool", "cool-healthy", healthy),
            deployment("fleet-rpm", "rpm-capped", healthy, rpm=RPM),
            deployment("fleet-chat", "chat", healthy),
        ],
        "litellm_settings": {"custom_provider_map": PROVIDER_MAP},
        "router_settings": {
            "routing_strategy": "usage-based-routing-v2",
            "num_retries": 2,
            **redis,
        },
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


class UpstreamCounter:
    """ASGI middleware: counts chat requests by (endpoint, access key id of the signer)."""

    def __init__(self, app: Any, credentials: tuple[TestCredentials, ...]) -> None:
        self.app = app
        self._credentials = credentials
        self._hits: list[tuple[str, str, float]] = []  # endpoint, signer, monotonic arrival
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/endpoints/") and path.endswith(CHAT_SUFFIX):
            hit = (path.split("/")[2], self._signer(scope), time.monotonic())
            with self._lock:
                self._hits.append(hit)
        await self.app(scope, receive, send)

    def _signer(self, scope: Mapping[str, Any]) -> str:
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            verdict = verify_token(
                token, region="us-east-1", credentials=self._credentials, now=time.time()
            )
        except TokenRejected:
            return "refused"
        return verdict.access_key_id

    def arrivals(self, endpoint: str, signer: TestCredentials | None = None) -> list[float]:
        """When requests reached ``endpoint`` (``time.monotonic()``), from one replica or all."""
        with self._lock:
            return [
                at
                for name, key, at in self._hits
                if name == endpoint and (signer is None or key == signer.access_key_id)
            ]

    def hits(self, endpoint: str, signer: TestCredentials | None = None) -> int:
        """How many requests reached ``endpoint``, from one replica's key or from all."""
        return len(self.arrivals(endpoint, signer))


@contextlib.contextmanager
def run_upstreams() -> Iterator[tuple[tuple[UpstreamCounter, str], tuple[UpstreamCounter, str]]]:
    """Two counted emulators: one throttles every request (429), one has the reference behind it."""
    throttled = UpstreamCounter(
        create_emulator_app(
            EmulatorConfig(credentials=REPLICAS, reference=ReferenceConfig(), throttle_rate=1.0)
        ),
        REPLICAS,
    )
    healthy = UpstreamCounter(
        create_emulator_app(EmulatorConfig(credentials=REPLICAS, reference=ReferenceConfig())),
        REPLICAS,
    )
    with serve_app(throttled) as throttled_url, serve_app(healthy) as healthy_url:
        yield (throttled, throttled_url), (healthy, healthy_url)


@dataclass(frozen=True)
class Replica:
    base: str  # the proxy's base URL
    credentials: TestCredentials  # what it signs with


def replica_env(
    workdir: Path, credentials: TestCredentials, extra: Mapping[str, str]
) -> dict[str, str]:
    """A proxy's environment: the suite's, minus any AWS setting, plus this replica's keys."""
    env = {k: v for k, v in proxy_env().items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    env.update(
        AWS_ACCESS_KEY_ID=credentials.access_key_id,
        AWS_SECRET_ACCESS_KEY=credentials.secret_access_key,
        AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return {**env, **extra}


@contextlib.contextmanager
def run_redis(workdir: Path) -> Iterator[int]:
    """A throwaway ``redis-server`` on loopback; yields its port."""
    proc, port = start_redis(workdir)
    try:
        yield port
    finally:
        stop(proc)


@contextlib.contextmanager
def run_fleet(
    config: Mapping[str, Any],
    workdir: Path,
    replicas: tuple[TestCredentials, ...] = REPLICAS,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[Replica, ...]]:
    """Start one proxy per credentials from the same config, in parallel; stop them all."""
    path = workdir / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is valid YAML

    def start(index: int) -> tuple[Any, str]:
        replica = replica_env(workdir, replicas[index], env or {})
        return start_proxy(path, replica, workdir / f"proxy-{index}.log", workers)

    with contextlib.ExitStack() as stack, ThreadPoolExecutor(len(replicas)) as pool:
        futures = [pool.submit(start, i) for i in range(len(replicas))]
        started = []
        for future in futures:
            try:
                proc, base = future.result()
            except Exception:
                for other in futures:  # stop the ones that did start before re-raising
                    with contextlib.suppress(Exception):
                        stop(other.result()[0])
                raise
            stack.callback(stop, proc)
            started.append(base)
        yield tuple(Replica(base, creds) for base, creds in zip(started, replicas, strict=True))


def eventually(what: str, check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds: Redis writes and reads are asynchronous in LiteLLM."""
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {CONVERGE_DEADLINE_S:.0f} s")
        time.sleep(0.05)


def openai_client(replica: Replica) -> Any:
    import openai

    return openai.OpenAI(base_url=f"{replica.base}/v1", api_key=MASTER_KEY, max_retries=0)


def ask(
    replica: Replica,
    model: str,
    messages: str | list[dict[str, Any]],
    *,
    stream: bool = False,
    **extra: Any,
) -> str:
    """One chat request through ``replica`` (``extra``: body fields for the proxy); its text."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    client = openai_client(replica)
    request = {"model": model, "messages": messages, "extra_body": extra}
    if not stream:
        return str(client.chat.completions.create(**request).choices[0].message.content)
    chunks = client.chat.completions.create(**request, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
