"""Canary secrets, a recording wrapper for the emulator, and the leak scanner for the secrets suite."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx

from conformance._emulator import TestCredentials

# Distinctive values: each carries a canary word, so a leak is found even when it is truncated,
# re-quoted or escaped around the word. The key ids are not secret (AWS logs them too).
SESSION = "IQoJb3JpZ2luX2VjESessionCanaryQ7Zk/AbC+dEf/0123456789ghIJklMNopQRstUVwx=="
SDK = TestCredentials("ASIASECSDKCANARY0001", "wJalrXUtn/SdkSecretCanary+K7MDENG/bPxRfiCY")
ENV = TestCredentials("ASIASECENVCANARY0002", "wJalrXUtn/EnvSecretCanary+K7MDENG/bPxRfiCY")
DIRECT = TestCredentials("AKIASECDIRCANARY0003", "wJalrXUtn/DirectSecretCanary+K7MDENG/bPxRf")
WRONG_SECRET = "wJalrXUtn/WrongSecretCanary+K7MDENG/bPxRfiC"
ENV_SESSION = "IQoJb3JpZ2luX2VjEEnvSessionCanaryX1/AbC+dEf/0123456789ghIJklMNopQRstU=="
# A pre-minted token the emulator refuses as malformed (401): its text must not leak either.
JUNK_TOKEN = (
    "sagemaker-api-key-" + base64.b64encode(b"JunkBearerCanary/not-a-presigned-url").decode()
)
REGION = "us-east-1"


@dataclass
class Seen:
    """One request as the emulator received it."""

    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Recorder:
    """Wraps an ASGI app and keeps every request's headers and body."""

    app: Any
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        entry = Seen(scope["path"], headers, b"")
        self.seen.append(entry)

        async def recording_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                entry.body += message.get("body", b"")
            return message

        await self.app(scope, recording_receive, send)

    def tokens(self) -> set[str]:
        """Every bearer token the emulator was shown."""
        return {
            value.partition(" ")[2].strip()
            for entry in self.seen
            for name, value in entry.headers
            if name == "authorization"
        }

    def texts(self) -> list[str]:
        """Bodies and every header except Authorization (the one place a token belongs)."""
        out: list[str] = []
        for entry in self.seen:
            out.append(entry.body.decode("utf-8", "replace"))
            out += [f"{n}: {v}" for n, v in entry.headers if n != "authorization"]
        return out


def needles(tokens: set[str], secrets: Mapping[str, str]) -> dict[str, str]:
    """Name -> text to look for: each secret raw, URL-quoted and by canary word; each token
    whole, by its base64 tail and by its decoded signature."""
    found: dict[str, str] = {}
    for name, secret in secrets.items():
        found[name] = secret
        found[f"{name} (url-quoted)"] = quote(secret, safe="")
        canary = re.search(r"[A-Z][a-z]+Canary[A-Za-z0-9]*", secret)
        if canary:
            found[f"{name} (canary word)"] = canary.group(0)
    for index, token in enumerate(sorted(tokens)):
        found[f"token #{index}"] = token
        found[f"token #{index} (tail)"] = token[-32:]
        try:
            url = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
        except ValueError:
            continue
        signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", url)
        if signature:
            found[f"token #{index} (signature)"] = signature.group(1)
        security = re.search(r"X-Amz-Security-Token=([^&]+)", url)
        if security:
            found[f"token #{index} (session token)"] = unquote(security.group(1))
    return found


def leaks(channels: Mapping[str, list[str]], wanted: Mapping[str, str]) -> list[str]:
    """Every (channel, needle) hit, with a little context, for an assertion message."""
    hits: list[str] = []
    for channel, texts in channels.items():
        for text in texts:
            for name, needle in wanted.items():
                at = text.find(needle)
                if needle and at >= 0:
                    context = text[max(0, at - 60) : at + len(needle) + 20]
                    hits.append(f"{channel}: {name} in ...{context!r}...")
    return sorted(set(hits))


def exception_texts(exc: BaseException) -> list[str]:
    """str, repr and attributes of an exception and everything chained to it."""
    out: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        out += [str(current), repr(current), repr(vars(current))]
        original = getattr(current, "original_exception", None)
        todo += [current.__cause__, current.__context__]
        if isinstance(original, BaseException):
            todo.append(original)
    return out


# --- a real litellm proxy process ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def proxy_process(
    config: dict[str, Any], workdir: Path, env: Mapping[str, str], *extra: str
) -> Iterator[str]:
    """``litellm --config`` on a free port, output to ``workdir/proxy.log``; stopped on exit."""
    (workdir / "config.yaml").write_text(json.dumps(config))  # JSON is valid YAML
    port = free_port()
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "DISABLE_SCHEMA_UPDATE": "true", **env}  # fmt: skip
    litellm_cli = Path(sys.executable).with_name("litellm")
    command = [str(litellm_cli), "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1",
               "--port", str(port), "--num_workers", "1", *extra]  # fmt: skip
    log = (workdir / "proxy.log").open("w")
    process = subprocess.Popen(
        command, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"proxy exited: {(workdir / 'proxy.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("proxy did not start within 90 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
