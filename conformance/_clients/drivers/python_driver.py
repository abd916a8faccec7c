"""The Python clients of the matrix, run as a script in their own environment (never imported).

The kit writes a plan (JSON) to stdin: where to reach the target, the token, the model, the
scripted exchange and which clients to run. For each client this prints one line,
``@@conformance {json}``, with what each step got: the text, the tool calls, the usage, or the
client's own exception. The kit judges those observations; this script only drives clients.

Every step has its own deadline, so a client that hangs (waiting for a connection the server
holds open) is reported as hung and the next client still runs. The process ends with
``os._exit`` so that a hung client's thread cannot keep it alive.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

MARK = "@@conformance "
Obs = dict[str, Any]


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(payload) + "\n")
    sys.stdout.flush()


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"[:1000]


def blank() -> Obs:
    return {"text": None, "tool_calls": [], "usage": None, "error": None, "hung": False}


def run_sync(fn: Callable[[], Obs], timeout: float) -> Obs:
    """Run a blocking step in a daemon thread, abandoned (and reported hung) past ``timeout``."""
    box: list[Obs] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # the client's own exception is the evidence
            box.append({**blank(), "error": error_text(exc)})

    start = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    obs = box[0] if box else {**blank(), "hung": True}
    obs["seconds"] = time.monotonic() - start
    return obs


async def run_async(fn: Callable[[], Awaitable[Obs]], timeout: float) -> Obs:
    start = time.monotonic()
    try:
        obs = await asyncio.wait_for(fn(), timeout)
    except asyncio.TimeoutError:
        obs = {**blank(), "hung": True}
    except Exception as exc:
        obs = {**blank(), "error": error_text(exc)}
    obs["seconds"] = time.monotonic() - start
    return obs


def usage_of(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    if isinstance(usage, dict):
        return usage
    dump = getattr(usage, "model_dump", None)
    return dump() if callable(dump) else dict(vars(usage))


def calls_of(message: Any) -> list[dict[str, Any]]:
    calls = getattr(message, "tool_calls", None) or []
    return [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in calls]


def turn_of(message: Any) -> Obs:
    """What an assistant turn produced (an OpenAI-shaped message): its text and its tool calls.

    A turn may answer a tool result with another tool call (small models do): both count.
    """
    return {**blank(), "text": message.content, "tool_calls": calls_of(message)}


async def streamed_turn(response: Any) -> Obs:
    """An OpenAI SDK stream through the SDK's own accumulator (what `.stream()` runs).

    It merges the tool-call fragments by index, as agent loops rely on.
    """
    from openai.lib.streaming.chat import ChatCompletionStreamState

    state: Any = ChatCompletionStreamState()
    async for chunk in response:
        state.handle_chunk(chunk)
    return turn_of(state.get_final_completion().choices[0].message)


def followup_messages(plan: dict[str, Any], calls: list[dict[str, Any]]) -> list[Any]:
    """The tool loop's second turn: the user, the assistant's calls, and each call's result."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": c["id"] or f"call_{n}",
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for n, c in enumerate(calls)
        ],
    }
    results = [
        {"role": "tool", "tool_call_id": c["id"], "content": json.dumps(plan["tool_result"])}
        for c in assistant["tool_calls"]
    ]
    return [{"role": "user", "content": plan["tool_prompt"]}, assistant, *results]


# -- the OpenAI SDK, sync: non-streamed tool call -----------------------------------------


def openai_sync(plan: dict[str, Any]) -> dict[str, Obs]:
    import openai

    client = openai.OpenAI(
        base_url=plan["base_url"], api_key=plan["api_key"], timeout=plan["timeout"]
    )
    chat = client.chat.completions
    model, timeout = plan["model"], plan["timeout"]
    user = [{"role": "user", "content": plan["prompt"]}]
    small = {"temperature": 0, "max_completion_tokens": plan["max_tokens"]}
    tool_args = {
        "tools": [plan["tool"]],
        "tool_choice": "required",
        "max_completion_tokens": plan["tool_max_tokens"],
        "temperature": 0,
    }
    steps: dict[str, Obs] = {}

    def answer() -> Obs:
        r = chat.create(model=model, messages=user, **small)
        return {**blank(), "text": r.choices[0].message.content, "usage": usage_of(r.usage)}

    def stream(include_usage: bool) -> Callable[[], Obs]:
        def run() -> Obs:
            extra = {"stream_options": {"include_usage": True}} if include_usage else {}
            text, usage = "", None
            for chunk in chat.create(model=model, messages=user, stream=True, **small, **extra):
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                usage = usage_of(chunk.usage) or usage
            return {**blank(), "text": text, "usage": usage}

        return run

    def tool_call() -> Obs:
        messages = [{"role": "user", "content": plan["tool_prompt"]}]
        return turn_of(chat.create(model=model, messages=messages, **tool_args).choices[0].message)

    steps["answer"] = run_sync(answer, timeout)
    steps["stream"] = run_sync(stream(False), timeout)
    steps["tool_call"] = run_sync(tool_call, timeout)
    calls = steps["tool_call"]["tool_calls"] or [plan["fallback_call"]]

    def followup() -> Obs:
        r = chat.create(
            model=model,
            messages=followup_messages(plan, calls),
            tools=[plan["tool"]],
            max_completion_tokens=plan["followup_max_tokens"],
            temperature=0,
        )
        return turn_of(r.choices[0].message)

    steps["followup"] = run_sync(followup, timeout)
    steps["usage"] = run_sync(stream(True), timeout)
    return steps


# -- the OpenAI SDK, async: streamed tool call through the SDK's own accumulator -----------


def openai_async(plan: dict[str, Any]) -> dict[str, Obs]:
    return asyncio.run(_openai_async(plan))


async def _openai_async(plan: dict[str, Any]) -> dict[str, Obs]:
    import openai

    client = openai.AsyncOpenAI(
        base_url=plan["base_url"], api_key=plan["api_key"], timeout=plan["timeout"]
    )
    chat = client.chat.completions
    model, timeout = plan["model"], plan["timeout"]
    user = [{"role": "user", "content": plan["prompt"]}]
    small = {"temperature": 0, "max_completion_tokens": plan["max_tokens"]}

    async def answer() -> Obs:
        r = await chat.create(model=model, messages=user, **small)
        return {**blank(), "text": r.choices[0].message.content, "usage": usage_of(r.usage)}

    def stream(include_usage: bool) -> Callable[[], Awaitable[Obs]]:
        async def run() -> Obs:
            extra = {"stream_options": {"include_usage": True}} if include_usage else {}
            text, usage = "", None
            response = await chat.create(model=model, messages=user, stream=True, **small, **extra)
            async for chunk in response:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                usage = usage_of(chunk.usage) or usage
            return {**blank(), "text": text, "usage": usage}

        return run

    async def tool_call() -> Obs:
        response = await chat.create(
            model=model,
            messages=[{"role": "user", "content": plan["tool_prompt"]}],
            tools=[plan["tool"]],
            tool_choice="required",
            max_completion_tokens=plan["tool_max_tokens"],
            temperature=0,
            stream=True,
        )
        return await streamed_turn(response)

    steps: dict[str, Obs] = {}
    steps["answer"] = await run_async(answer, timeout)
    steps["stream"] = await run_async(stream(False), timeout)
    steps["tool_call"] = await run_async(tool_call, timeout)
    calls = steps["tool_call"]["tool_calls"] or [plan["fallback_call"]]

    async def followup() -> Obs:
        response = await chat.create(
            model=model,
            messages=followup_messages(plan, calls),
            tools=[plan["tool"]],
            max_completion_tokens=plan["followup_max_tokens"],
            temperature=0,
            stream=True,
        )
        return await streamed_turn(response)

    steps["followup"] = await run_async(followup, timeout)
    steps["usage"] = await run_async(stream(True), timeout)
    return steps


CLIENTS: dict[str, Callable[[dict[str, Any]], dict[str, Obs]]] = {
    "openai-sync": openai_sync,
    "openai-async": openai_async,
}
# The clients of other modules (beside this file), each with its own CLIENTS and PACKAGES: the
# agent frameworks always, the LiteLLM clients when the plan names them (their own environment).
MODULES = ("agent_clients",)


def version_of(package: str) -> str:
    from importlib.metadata import version

    try:
        return version(package)
    except Exception:
        return "?"


def main() -> None:
    plan = json.loads(sys.stdin.read())
    table, packages = dict(CLIENTS), {}
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    for name in (*MODULES, *([plan["module"]] if plan.get("module") else [])):
        module = __import__(name)
        table.update(module.CLIENTS)
        packages.update(module.PACKAGES)
    for client in plan["clients"]:
        try:
            steps = table[client](plan)
            version = version_of(packages.get(client, "openai"))
            emit({"client": client, "version": version, "steps": steps})
        except BaseException as exc:  # setup failed before any step (an import, a config)
            emit({"client": client, "version": "?", "error": error_text(exc),
                  "trace": traceback.format_exc()[-2000:]})  # fmt: skip
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
