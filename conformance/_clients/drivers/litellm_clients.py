"""The LiteLLM clients of the matrix: ``openai/``, ``sagemaker_openai/`` and the proxy.

Loaded by ``python_driver.py`` in a process of its own (the kit never imports LiteLLM), with
the interpreter the kit runs in: LiteLLM and this provider are the distribution's own
dependencies, so these are the versions the user has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from python_driver import Obs, blank, followup_messages, run_sync, turn_of, usage_of

PACKAGES = {c: "litellm" for c in ("litellm-openai", "litellm-sagemaker", "litellm-proxy")}
PROXY_START_S = 240.0  # a cold proxy takes 10-40 s on two busy cores


def _silence() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def steps_through(
    plan: dict[str, Any], call: Callable[..., Any], stream_call: Callable[..., Any]
) -> dict[str, Obs]:
    """The scripted exchange through a completion function (sync, or async run per call)."""
    timeout = plan["timeout"]
    user = [{"role": "user", "content": plan["prompt"]}]
    small = {"temperature": 0, "max_completion_tokens": plan["max_tokens"]}

    def answer() -> Obs:
        r = call(messages=user, **small)
        return {**blank(), "text": r.choices[0].message.content, "usage": usage_of(r.usage)}

    def stream(include_usage: bool) -> Callable[[], Obs]:
        def run() -> Obs:
            extra = {"stream_options": {"include_usage": True}} if include_usage else {}
            text, usage = "", None
            for chunk in stream_call(messages=user, **small, **extra):
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                usage = usage_of(getattr(chunk, "usage", None)) or usage
            return {**blank(), "text": text, "usage": usage}

        return run

    def tool_call() -> Obs:
        r = call(
            messages=[{"role": "user", "content": plan["tool_prompt"]}],
            tools=[plan["tool"]],
            tool_choice="required",
            max_completion_tokens=plan["tool_max_tokens"],
            temperature=0,
        )
        return turn_of(r.choices[0].message)

    steps = {
        "answer": run_sync(answer, timeout),
        "stream": run_sync(stream(False), timeout),
        "tool_call": run_sync(tool_call, timeout),
    }
    calls = steps["tool_call"]["tool_calls"] or [plan["fallback_call"]]

    def followup() -> Obs:
        r = call(
            messages=followup_messages(plan, calls),
            tools=[plan["tool"]],
            max_completion_tokens=plan["followup_max_tokens"],
            temperature=0,
        )
        return turn_of(r.choices[0].message)

    steps["followup"] = run_sync(followup, timeout)
    steps["usage"] = run_sync(stream(True), timeout)
    return steps


def litellm_openai(plan: dict[str, Any]) -> dict[str, Obs]:
    """``litellm.completion(model="openai/<model>", api_base=...)``, sync."""
    litellm = _silence()
    common = {
        "model": f"openai/{plan['model']}",
        "api_base": plan["base_url"],
        "api_key": plan["api_key"],
        "timeout": plan["timeout"],
    }

    def call(**kwargs: Any) -> Any:
        return litellm.completion(**common, **kwargs)

    def stream_call(**kwargs: Any) -> Any:
        return litellm.completion(**common, stream=True, **kwargs)

    return steps_through(plan, call, stream_call)


def litellm_sagemaker(plan: dict[str, Any]) -> dict[str, Obs]:
    """``litellm.acompletion(model="sagemaker_openai/<endpoint>")``, each call its own loop."""
    litellm = _silence()
    import litellm_sagemaker_openai

    litellm_sagemaker_openai.register()
    route = plan["route"]
    name = route["endpoint"] + (
        f"/{route['inference_component']}" if route.get("inference_component") else ""
    )
    common = {
        "model": f"sagemaker_openai/{name}",
        "api_base": route["api_base"],
        "api_key": plan["api_key"],  # the kit's minted token, used as is
        "aws_region_name": route["region"],
        "timeout": plan["timeout"],
    }

    def call(**kwargs: Any) -> Any:
        return asyncio.run(litellm.acompletion(**common, **kwargs))

    def stream_call(**kwargs: Any) -> Iterator[Any]:
        async def collect() -> list[Any]:
            response = await litellm.acompletion(**common, stream=True, **kwargs)
            return [chunk async for chunk in response]

        return iter(asyncio.run(collect()))

    return steps_through(plan, call, stream_call)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _proxy(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A real ``litellm --config`` proxy with one ``openai/`` deployment on the target."""
    key = "sk-" + secrets.token_hex(24)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="conformance-proxy-") as folder:
        config = os.path.join(folder, "config.yaml")
        deployment = {
            "model": f"openai/{plan['model']}",
            "api_base": plan["base_url"],
            "api_key": "os.environ/CONFORMANCE_TARGET_KEY",
            "timeout": plan["timeout"],
        }
        with open(config, "w", encoding="utf-8") as handle:
            json.dump({"model_list": [{"model_name": "kit", "litellm_params": deployment}],
                       "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}},
                      handle)  # fmt: skip
        env = {
            **os.environ,
            "LITELLM_MASTER_KEY": key,
            "CONFORMANCE_TARGET_KEY": plan["api_key"],
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        command = [sys.executable, "-c", "from litellm.proxy.proxy_cli import run_server; "
                   "run_server()", "--config", config, "--host", "127.0.0.1", "--port",
                   str(port), "--num_workers", "1"]  # fmt: skip
        log = open(os.path.join(folder, "proxy.log"), "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + PROXY_START_S
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(log.name, "rb") as tail:
                        said = tail.read()[-1500:].decode("utf-8", "replace")
                    raise RuntimeError(f"the LiteLLM proxy did not start: {said}")
                health = f"{base}/health/liveliness"
                with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as r:
                    if r.status == 200:
                        break
                time.sleep(0.5)
            yield base + "/v1", key
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(15)
            log.close()


def litellm_proxy(plan: dict[str, Any]) -> dict[str, Obs]:
    """The OpenAI SDK (sync) through a real LiteLLM proxy whose deployment is the target."""
    import openai

    with _proxy(plan) as (base_url, key):
        client = openai.OpenAI(base_url=base_url, api_key=key, timeout=plan["timeout"])

        def call(**kwargs: Any) -> Any:
            return client.chat.completions.create(model="kit", **kwargs)

        def stream_call(**kwargs: Any) -> Any:
            return client.chat.completions.create(model="kit", stream=True, **kwargs)

        return steps_through(plan, call, stream_call)


CLIENTS: dict[str, Callable[[dict[str, Any]], dict[str, Obs]]] = {
    "litellm-openai": litellm_openai,
    "litellm-sagemaker": litellm_sagemaker,
    "litellm-proxy": litellm_proxy,
}
