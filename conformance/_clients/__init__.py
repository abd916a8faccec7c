"""The client matrix: real clients, in environments the kit owns, run against a target.

``run_clients(target, select_clients("openai-*"))`` is what the command line's ``--clients``
runs, and what a check's evidence test calls to show which client a fault breaks. The clients
run as subprocesses (the kit never imports LiteLLM or any client library); their verdicts are
``conformance._engine._matrix.ClientResult``.
"""

from ._catalogue import CLIENTS, ENVIRONMENTS, Client, Environment, select_clients
from ._envs import (
    CLIENTS_VARIABLE,
    INSTALL_COMMAND,
    InstallError,
    cache_dir,
    install,
    install_all,
    installed,
)
from ._runner import TOOL_PROMPT, plan_for, run_clients

__all__ = [
    "CLIENTS",
    "CLIENTS_VARIABLE",
    "ENVIRONMENTS",
    "INSTALL_COMMAND",
    "TOOL_PROMPT",
    "Client",
    "Environment",
    "InstallError",
    "cache_dir",
    "install",
    "install_all",
    "installed",
    "plan_for",
    "run_clients",
    "select_clients",
]
