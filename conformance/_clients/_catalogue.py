"""The client matrix's catalogue: the clients users have, their pinned environments, subsets.

An environment is one process per run: every client in it runs its scripted exchange there, one
after the other. The pins are the newest releases on the index when they were set (and, for
the previous major of the OpenAI SDK, the newest 2.x, which LiteLLM 1.106 still requires).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Environment:
    """Where a group of clients runs: a pip ``--target`` dir, the kit's interpreter, or npm."""

    name: str
    runtime: str  # "python" or "node"
    requirements: tuple[str, ...] = ()  # pip pins; empty for the kit's interpreter and npm
    module: str | None = None  # an extra driver module (the LiteLLM clients)

    @property
    def installed_by_kit(self) -> bool:
        """The kit installs it into its cache (the LiteLLM one is the kit's own interpreter)."""
        return self.runtime == "node" or bool(self.requirements)


@dataclass(frozen=True)
class Client:
    """One row of the matrix: a client, as users know it, in one environment."""

    id: str  # what --clients selects, e.g. "openai-python-async"
    title: str  # e.g. "openai-python (async)"; the report adds the version
    environment: str
    driver: str  # the driver's name for it
    modes: tuple[str, ...] = ("direct", "mock", "live")
    notes: str = ""  # how it makes its calls, for the docs


ENVIRONMENTS: Final = {
    env.name: env
    for env in (
        Environment(
            "python-current",
            "python",
            ("openai==3.63.0", "langchain-openai==1.8.1", "strands-agents[openai]==1.65.0"),
        ),
        Environment("python-previous", "python", ("openai==2.54.0",)),
        Environment("litellm", "python", module="litellm_clients"),
        Environment("node", "node"),
    )
}

CLIENTS: Final = tuple(
    (
        Client("openai-python", "openai-python", "python-current", "openai-sync",
               notes="sync; tool call not streamed"),
        Client("openai-python-async", "openai-python (async)", "python-current", "openai-async",
               notes="async; tool call streamed through the SDK's accumulator"),
        Client("openai-python-2", "openai-python 2.x", "python-previous", "openai-sync",
               notes="the previous major, sync"),
        Client("openai-python-2-async", "openai-python 2.x (async)", "python-previous",
               "openai-async", notes="the previous major, async"),
        Client("langchain-openai", "LangChain ChatOpenAI", "python-current", "langchain",
               notes="invoke, stream, bind_tools, stream_usage"),
        Client("strands-agents", "Strands Agents (OpenAIModel)", "python-current", "strands",
               notes="an agent loop that calls the tool and answers"),
        Client("litellm-openai", "LiteLLM openai/", "litellm", "litellm-openai",
               notes="litellm.completion, sync"),
        Client("litellm-sagemaker-openai", "LiteLLM sagemaker_openai/", "litellm",
               "litellm-sagemaker", modes=("mock", "live"),
               notes="litellm.acompletion through the route, with the kit's token"),
        Client("litellm-proxy", "LiteLLM proxy", "litellm", "litellm-proxy",
               notes="a real litellm --config proxy, called with the OpenAI SDK"),
        Client("openai-node", "openai-node", "node", "openai-node",
               notes="tool call streamed through the SDK's stream helper"),
        Client("vercel-ai", "Vercel AI SDK (openai-compatible)", "node", "vercel-ai",
               notes="generateText, streamText, its own tool loop"),
    )
)  # fmt: skip
BY_ID: Final = {c.id: c for c in CLIENTS}
# The clients whose start-up costs seconds of their own (the proxy boots a server).
SLOW: Final = ("litellm-proxy",)


def select_clients(patterns: str | Iterable[str] | None = None) -> list[Client]:
    """Clients matching any glob (comma-separated allowed); ``None`` or ``all``: every client;
    ``none``: no client.

    Raises:
        ValueError: a pattern that matches no client (the message lists the ids).
    """
    if patterns is None:
        return list(CLIENTS)
    given = [patterns] if isinstance(patterns, str) else list(patterns)
    globs = [p.strip() for g in given for p in g.split(",") if p.strip()]
    if globs == ["none"]:
        return []
    if "all" in globs:
        return list(CLIENTS)
    unknown = [g for g in globs if not any(fnmatch.fnmatchcase(c.id, g) for c in CLIENTS)]
    if unknown:
        raise ValueError(
            f"--clients {', '.join(unknown)} matches no client; the clients are: "
            + ", ".join(BY_ID)
            + " (or all, none)"
        )
    return [c for c in CLIENTS if any(fnmatch.fnmatchcase(c.id, g) for g in globs)]
