"""Run the client matrix against a target: one process per environment, all at once.

Each process gets a plan on stdin (the target, the token, the scripted exchange, its clients)
and prints one ``@@conformance`` line per client. The processes run side by side and are
bounded: each step has the request timeout, each process a deadline of its own (start-up plus
every step of every client it runs), and a process past it is killed with its whole group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .._engine._capabilities import TOOL_NAME, WEATHER_TOOL
from .._engine._context import DEFAULT_MAX_TOKENS, DEFAULT_PROMPT
from .._engine._matrix import STEPS, ClientResult, Readiness, from_steps
from .._wire._target import Target
from ._catalogue import ENVIRONMENTS, SLOW, Client, Environment, select_clients
from ._envs import DRIVERS, INSTALL_COMMAND, installed, location, runtime
from ._judge import judge

MARK: Final = "@@conformance "
START_S: Final = 60.0  # importing a client library on a busy machine
SLOW_START_S: Final = 240.0  # a cold LiteLLM proxy
# The scripted exchange. The tool prompt names the tool, so a container (or the reference)
# that calls tools only when asked by name still calls it under tool_choice "auto".
TOOL_PROMPT: Final = f"What is the weather in Paris? Use the tool {TOOL_NAME}."
TOOL_RESULT: Final = {"temp_c": 21}
NO_KEY: Final = "sk-conformance-kit-no-key"  # direct mode: SageMaker never forwards a key


def plan_for(target: Target, model: str, timeout: float) -> dict[str, Any]:
    """What every driver needs; the token is sent on stdin, never on a command line."""
    token = target.token_factory() if target.token_factory is not None else None
    route = None
    if target.endpoint is not None:
        route = {
            "api_base": target.base_url,
            "endpoint": target.endpoint,
            "inference_component": target.inference_component,
            "region": target.region,
        }
    return {
        "base_url": target.openai_base_url,
        "api_key": token or NO_KEY,
        "route": route,
        "model": model,
        "timeout": timeout,
        "prompt": DEFAULT_PROMPT,
        "max_tokens": DEFAULT_MAX_TOKENS,
        "tool_prompt": TOOL_PROMPT,
        "tool": WEATHER_TOOL,
        "tool_max_tokens": 64,
        "followup_max_tokens": 32,
        "tool_result": TOOL_RESULT,
        # The follow-up still runs when the tool call was lost, with the call a model makes.
        "fallback_call": {"id": "call_kit_1", "name": TOOL_NAME, "arguments": '{"city":"Paris"}'},
    }


def _skipped(client: Client, runtime_label: str, why: str) -> ClientResult:
    return ClientResult(client.id, client.title, "", runtime_label, Readiness.SKIPPED, why)


@dataclass
class _Job:
    env: Environment
    clients: list[Client]
    runtime: str
    proc: subprocess.Popen[bytes]
    deadline: float


def _command(env: Environment, cache: Path | None) -> tuple[list[str], dict[str, str]]:
    found = runtime(env)
    environ = dict(os.environ)
    if env.runtime == "node":
        folder = location(env, cache)
        shutil.copy(DRIVERS / "node" / "driver.mjs", folder / "driver.mjs")
        return [*found.command, str(folder / "driver.mjs")], environ
    if env.installed_by_kit:
        paths = [str(location(env, cache)), environ.get("PYTHONPATH", "")]
        environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    environ["PYTHONUNBUFFERED"] = "1"
    return [*found.command, str(DRIVERS / "python_driver.py")], environ


def _start(
    env: Environment, clients: list[Client], plan: dict[str, Any], cache: Path | None, until: float
) -> _Job:
    command, environ = _command(env, cache)
    mine = {**plan, "clients": [c.driver for c in clients], "module": env.module}
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
        start_new_session=True,  # killed with its children (the proxy) as one group
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(mine).encode())  # small: well within the pipe's buffer
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush it again
    start = SLOW_START_S if any(c.id in SLOW for c in clients) else START_S
    own = time.monotonic() + start + len(clients) * len(STEPS) * plan["timeout"]
    return _Job(env, clients, runtime(env).label, proc, min(own, until))


def _finish(job: _Job, timeout: float) -> list[ClientResult]:
    try:
        out, err = job.proc.communicate(timeout=max(0.0, job.deadline - time.monotonic()))
        late = ""
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.proc.pid, signal.SIGKILL)
        out, err = job.proc.communicate()
        late = "the client's process did not finish in time and was stopped"
    reports: dict[str, dict[str, Any]] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith(MARK):
            with contextlib.suppress(ValueError):
                data = json.loads(line[len(MARK) :])
                reports[data["client"]] = data
    tail = err.decode("utf-8", "replace").strip()[-500:]
    results = []
    for client in job.clients:
        data = reports.get(client.driver)
        if data is None:
            why = late or f"the client's process ended without a result: {tail or 'no output'}"
            results.append(
                ClientResult(client.id, client.title, "?", job.runtime, Readiness.NOT_READY, why)
            )
        elif data.get("error"):
            results.append(
                ClientResult(
                    client.id,
                    client.title,
                    str(data.get("version") or "?"),
                    job.runtime,
                    Readiness.NOT_READY,
                    f"setup: {data['error']}",
                )
            )
        else:
            steps = judge(data.get("steps") or {}, tool=TOOL_NAME, timeout=timeout)
            version = str(data.get("version") or "?")
            results.append(from_steps(client.id, client.title, version, job.runtime, steps))
    return results


def run_clients(
    target: Target,
    clients: Sequence[Client] | None = None,
    *,
    model: str = "",
    timeout: float = 20.0,
    cache: Path | None = None,
    until: float | None = None,
) -> tuple[ClientResult, ...]:
    """Run ``clients`` (default: the whole matrix) against ``target``; one result each.

    ``timeout`` bounds each step of each client; ``until`` (a ``time.monotonic()`` instant)
    bounds the whole matrix. A client whose runtime is missing or whose environment is not
    installed, or that has no meaning in the target's mode, is skipped with the reason.
    """
    chosen = list(select_clients() if clients is None else clients)
    results: dict[str, ClientResult] = {}
    groups: dict[str, list[Client]] = {}
    for client in chosen:
        env = ENVIRONMENTS[client.environment]
        found = runtime(env)
        if target.mode not in client.modes:
            why = f"not applicable in {target.mode} mode: it needs the route (mock or live mode)"
            results[client.id] = _skipped(client, found.label, why)
        elif found.missing:
            results[client.id] = _skipped(client, found.label, found.missing)
        elif not installed(env, cache):
            why = f"not installed: run `{INSTALL_COMMAND}`"
            results[client.id] = _skipped(client, found.label, why)
        else:
            groups.setdefault(env.name, []).append(client)
    if groups:
        plan = plan_for(target, model, timeout)
        end = until if until is not None else float("inf")
        jobs: list[_Job] = []
        try:
            for name, members in groups.items():
                jobs.append(_start(ENVIRONMENTS[name], members, plan, cache, end))
            for job in jobs:
                results.update((r.client, r) for r in _finish(job, timeout))
        finally:  # a signal or an error mid-matrix leaves no client process behind
            for job in jobs:
                if job.proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(job.proc.pid, signal.SIGKILL)
                    job.proc.wait()
    return tuple(results[c.id] for c in chosen)
