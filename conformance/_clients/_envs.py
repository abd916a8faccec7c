"""The client environments in the kit's own cache: installed on request, never at import time.

The cache is ``$SAGEMAKER_OPENAI_CONFORMANCE_CACHE``, else
``$XDG_CACHE_HOME/sagemaker-openai-conformance``, else ``~/.cache/sagemaker-openai-conformance``.
Python clients go into ``pip install --target`` folders (each one complete, its own
dependencies included, so it shadows whatever the kit's interpreter has); the Node clients are
installed with ``npm ci`` from the ``package.json`` and ``package-lock.json`` shipped in the
package. Each folder's name carries a digest of its pins, so new pins install afresh, and a
folder only counts once its install finished (it is renamed into place at the end).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from ._catalogue import ENVIRONMENTS, Environment

CACHE_VARIABLE: Final = "SAGEMAKER_OPENAI_CONFORMANCE_CACHE"
# The default of --clients, for a CI that runs the matrix in a job of its own.
CLIENTS_VARIABLE: Final = "SAGEMAKER_OPENAI_CONFORMANCE_CLIENTS"
DRIVERS: Final = Path(__file__).resolve().parent / "drivers"
NODE_FILES: Final = ("package.json", "package-lock.json")
INSTALL_COMMAND: Final = "sagemaker-openai-conformance --install-clients"
INSTALL_TIMEOUT: Final = 900.0


class Log(Protocol):
    """Where install progress goes (stderr, or the CLI's escaped stderr)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class InstallError(RuntimeError):
    """An environment could not be installed; the message has the installer's last words."""


def cache_dir() -> Path:
    """Where the kit keeps its client environments (see the module docstring)."""
    override = os.environ.get(CACHE_VARIABLE)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagemaker-openai-conformance"


def _digest(env: Environment) -> str:
    if env.runtime == "node":
        content = b"".join((DRIVERS / "node" / name).read_bytes() for name in NODE_FILES)
    else:
        tag = f"{sys.version_info.major}.{sys.version_info.minor}"
        content = "\n".join((tag, *env.requirements)).encode()
    return hashlib.sha256(content).hexdigest()[:12]


def location(env: Environment, cache: Path | None = None) -> Path:
    """The folder an environment installs into (whether or not it is there yet)."""
    return (cache or cache_dir()) / f"{env.name}-{_digest(env)}"


@dataclass(frozen=True)
class Runtime:
    """A runtime found on this machine, or why it is missing."""

    command: tuple[str, ...]
    label: str  # "python 3.11.7", "node v20.20.2"
    missing: str = ""  # why it cannot run here; empty when it can


def runtime(env: Environment) -> Runtime:
    """The interpreter an environment's clients run in."""
    if env.runtime == "python":
        return Runtime((sys.executable,), f"python {platform.python_version()}")
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        absent = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        return Runtime((), "node", f"no Node runtime here ({absent} not on PATH)")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return Runtime((node,), f"node {version}")


def installed(env: Environment, cache: Path | None = None) -> bool:
    """Whether the environment is ready to run (the LiteLLM one always is)."""
    if not env.installed_by_kit:
        return True
    folder = location(env, cache)
    marker = "node_modules" if env.runtime == "node" else ""
    return (folder / marker).is_dir() if marker else folder.is_dir()


def install(env: Environment, cache: Path | None = None, log: Log | None = None) -> Path:
    """Install ``env`` into the cache unless it is there; return its folder.

    Raises:
        InstallError: the installer failed (its last output is in the message), or the runtime
            is missing.
    """
    folder = location(env, cache)
    if installed(env, cache) or not env.installed_by_kit:
        return folder
    found = runtime(env)
    if found.missing:
        raise InstallError(found.missing)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if log is not None:
        log.write(f"installing {env.name} into {folder} ...\n")
        log.flush()
    if env.runtime == "node":
        partial.mkdir()
        for name in NODE_FILES:
            shutil.copy(DRIVERS / "node" / name, partial / name)
        npm = shutil.which("npm") or "npm"
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        _call(command, partial, env)
    else:
        pins = list(env.requirements)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-input",
                   "--disable-pip-version-check", "--target", str(partial), *pins]  # fmt: skip
        _call(command, folder.parent, env)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _call(command: list[str], cwd: Path, env: Environment) -> None:
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"installing {env.name} failed: {exc}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout)[-1500:]
        raise InstallError(f"installing {env.name} failed (exit {done.returncode}): {said}")


def install_all(names: list[str] | None = None, log: Log | None = None) -> list[str]:
    """Install every environment (or ``names``); return one problem line per failure.

    An environment whose runtime is missing (no Node) is skipped with a line in ``log``.
    """
    problems = []
    for env in ENVIRONMENTS.values():
        if names is not None and env.name not in names:
            continue
        missing = runtime(env).missing
        if missing:  # a visible skip: the matrix reports these clients as skipped too
            if log is not None:
                log.write(f"skipping {env.name}: {missing}\n")
            continue
        try:
            install(env, log=log)
        except InstallError as exc:
            problems.append(f"{env.name}: {exc}")
    return problems
