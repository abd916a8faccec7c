"""The agent frameworks of the matrix: LangChain's ChatOpenAI and Strands Agents.

Loaded by ``python_driver.py`` in the environment it runs in; each client imports its
framework when it runs, so this module loads where the framework is not installed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from python_driver import Obs, blank, run_sync

PACKAGES = {"langchain": "langchain-openai", "strands": "strands-agents"}


# -- LangChain's ChatOpenAI ---------------------------------------------------------------


def langchain(plan: dict[str, Any]) -> dict[str, Obs]:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    def llm(**extra: Any) -> Any:
        return ChatOpenAI(
            model=plan["model"],
            base_url=plan["base_url"],
            api_key=plan["api_key"],
            temperature=0,
            timeout=plan["timeout"],
            **extra,
        )

    small = llm(max_completion_tokens=plan["max_tokens"])
    timeout = plan["timeout"]

    def answer() -> Obs:
        message = small.invoke(plan["prompt"])
        return {**blank(), "text": message.content, "usage": message.usage_metadata}

    def stream() -> Obs:
        return {**blank(), "text": "".join(str(c.content) for c in small.stream(plan["prompt"]))}

    tools = llm(max_completion_tokens=plan["tool_max_tokens"]).bind_tools(
        [plan["tool"]], tool_choice="required"
    )
    held: list[Any] = []

    def turn(message: Any) -> Obs:
        calls = [
            {"id": c["id"], "name": c["name"], "arguments": json.dumps(c["args"])}
            for c in message.tool_calls
        ]
        return {**blank(), "text": message.content or None, "tool_calls": calls}

    def tool_call() -> Obs:
        message = tools.invoke([HumanMessage(plan["tool_prompt"])])
        held.append(message)
        return turn(message)

    def followup() -> Obs:
        if not held or not held[0].tool_calls:
            raise RuntimeError("no tool call to answer (see tool_call)")
        reply = [ToolMessage(json.dumps(plan["tool_result"]), tool_call_id=c["id"]) for c in
                 held[0].tool_calls]  # fmt: skip
        followup_llm = llm(max_completion_tokens=plan["followup_max_tokens"])
        message = followup_llm.bind_tools([plan["tool"]]).invoke(
            [HumanMessage(plan["tool_prompt"]), held[0], *reply]
        )
        return turn(message)

    def usage() -> Obs:
        streaming = llm(max_completion_tokens=plan["max_tokens"], stream_usage=True)
        total: Any = None
        for chunk in streaming.stream(plan["prompt"]):
            total = chunk if total is None else total + chunk
        return {
            **blank(),
            "text": None if total is None else total.content,
            "usage": None if total is None else total.usage_metadata,
        }

    return {
        "answer": run_sync(answer, timeout),
        "stream": run_sync(stream, timeout),
        "tool_call": run_sync(tool_call, timeout),
        "followup": run_sync(followup, timeout),
        "usage": run_sync(usage, timeout),
    }


# -- Strands Agents (OpenAIModel): an agent loop that calls the tool and answers -----------


def strands(plan: dict[str, Any]) -> dict[str, Obs]:
    from strands import Agent, tool
    from strands.hooks import AfterModelCallEvent
    from strands.models.openai import OpenAIModel

    timeout = plan["timeout"]
    calls: list[dict[str, Any]] = []

    @tool(name=plan["tool"]["function"]["name"])
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append({"id": None, "name": "get_weather", "arguments": json.dumps({"city": city})})
        return json.dumps(plan["tool_result"])

    def model(max_tokens: int, stream: bool = True) -> Any:
        return OpenAIModel(
            client_args={
                "base_url": plan["base_url"],
                "api_key": plan["api_key"],
                "timeout": timeout,
            },
            model_id=plan["model"],
            params={"max_tokens": max_tokens, "temperature": 0},
            stream=stream,
        )

    def text_of(result: Any) -> str:
        return "".join(b.get("text", "") for b in result.message.get("content", []))

    def answer() -> Obs:
        agent = Agent(model=model(plan["max_tokens"], stream=False), callback_handler=None)
        return {**blank(), "text": text_of(agent(plan["prompt"]))}

    def stream() -> Obs:
        async def collect() -> str:
            agent = Agent(model=model(plan["max_tokens"]), callback_handler=None)
            text = ""
            async for event in agent.stream_async(plan["prompt"]):
                text += event.get("data", "") if isinstance(event.get("data"), str) else ""
            return text

        return {**blank(), "text": asyncio.run(collect())}

    turns: list[Any] = []  # the model's messages, one per turn of the agent loop

    def bound(event: Any) -> None:
        # A model that answers the tool result with the tool again would loop until the
        # deadline: the script has two turns, so the loop stops before a third.
        if event.stop_response is None:
            return
        turns.append(event.stop_response.message)
        if len(turns) >= 2 and event.stop_response.stop_reason == "tool_use":
            event.agent.cancel()

    def tool_call() -> Obs:
        agent = Agent(
            model=model(plan["tool_max_tokens"]), tools=[get_weather], callback_handler=None
        )
        agent.add_hook(bound, AfterModelCallEvent)
        agent(plan["tool_prompt"])
        return {**blank(), "tool_calls": list(calls)}

    def followup() -> Obs:
        if len(turns) < 2:
            raise RuntimeError("the agent loop did not answer the tool result (see tool_call)")
        blocks = turns[1].get("content", [])
        uses = [b["toolUse"] for b in blocks if "toolUse" in b]
        return {
            **blank(),
            "text": "".join(b.get("text", "") for b in blocks) or None,
            "tool_calls": [
                {"id": u.get("toolUseId"), "name": u.get("name"),
                 "arguments": json.dumps(u.get("input"))}
                for u in uses
            ],
        }  # fmt: skip

    def usage() -> Obs:
        agent = Agent(model=model(plan["max_tokens"]), callback_handler=None)
        result = agent(plan["prompt"])
        used = result.metrics.accumulated_usage
        return {
            **blank(),
            "text": text_of(result),
            "usage": {
                "prompt_tokens": used.get("inputTokens"),
                "completion_tokens": used.get("outputTokens"),
            },
        }

    return {
        "answer": run_sync(answer, timeout),
        "stream": run_sync(stream, timeout),
        "tool_call": run_sync(tool_call, timeout),
        "followup": run_sync(followup, timeout),
        "usage": run_sync(usage, timeout),
    }


CLIENTS: dict[str, Callable[[dict[str, Any]], dict[str, Obs]]] = {
    "langchain": langchain,
    "strands": strands,
}
