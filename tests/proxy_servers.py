"""Real HTTP proxies on loopback for tests: tinyproxy (CONNECT) and mitmdump (TLS-inspecting).

tinyproxy comes from Debian's packages (``.ci/debian-packages``). mitmproxy pins libraries the
project's venv cannot share (cryptography, h11), so it lives in a venv of its own that
``make mitmproxy`` builds from the ``mitmproxy`` dependency group: ``.venv-mitmproxy``. A test
whose proxy is missing skips, saying how to get it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from processes import START_DEADLINE_S, free_port, stop

from conformance._wire._serve import TLSFiles

ROOT: Final = Path(__file__).resolve().parents[1]
TINYPROXY_MISSING: Final = (
    "tinyproxy is not installed: install Debian's tinyproxy package "
    "(.ci/run does: .ci/debian-packages)"
)
MITMDUMP: Final = ROOT / ".venv-mitmproxy" / "bin" / "mitmdump"
MITMDUMP_MISSING: Final = "mitmdump is not installed: run `make mitmproxy` (.ci/run does)"


def tinyproxy_binary() -> str | None:
    return shutil.which("tinyproxy") or next(
        (str(p) for p in (Path("/usr/bin/tinyproxy"), Path("/usr/sbin/tinyproxy")) if p.exists()),
        None,
    )


def mitmdump_binary() -> str | None:
    return str(MITMDUMP) if MITMDUMP.exists() else shutil.which("mitmdump")


def start_tinyproxy(
    workdir: Path, auth: tuple[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """A CONNECT proxy on a free loopback port (basic auth if ``auth``); its log in workdir."""
    binary = tinyproxy_binary()
    if binary is None:
        raise FileNotFoundError(TINYPROXY_MISSING)
    port = free_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 60",
        "MaxClients 100",
        f'LogFile "{workdir / "tinyproxy.log"}"',
        "LogLevel Info",
        f'PidFile "{workdir / "tinyproxy.pid"}"',
        "DisableViaHeader Yes",
    ]
    if auth is not None:
        lines.append(f"BasicAuth {auth[0]} {auth[1]}")
    config = workdir / "tinyproxy.conf"
    config.write_text("\n".join(lines) + "\n")
    return _start([binary, "-d", "-c", str(config)], workdir / "tinyproxy.out", port)


def start_mitmdump(
    workdir: Path, upstream_ca: Path, auth: tuple[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """A TLS-inspecting proxy; returns it, its port and the CA file clients must trust.

    It verifies the server against ``upstream_ca`` and streams bodies as they come (mitmproxy
    buffers whole bodies unless told otherwise, which would defeat streaming).
    """
    binary = mitmdump_binary()
    if binary is None:
        raise FileNotFoundError(MITMDUMP_MISSING)
    port = free_port()
    confdir = workdir / "mitmproxy"
    confdir.mkdir(exist_ok=True)
    command = [binary, "--listen-host", "127.0.0.1", "--listen-port", str(port),
               "--set", f"confdir={confdir}", "--set", "stream_large_bodies=1",
               "--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}",
               "--set", "termlog_verbosity=warn", "--set", "flow_detail=0"]  # fmt: skip
    if auth is not None:
        command += ["--proxyauth", f"{auth[0]}:{auth[1]}"]
    proc, port = _start(command, workdir / "mitmdump.out", port)
    return proc, port, confdir / "mitmproxy-ca-cert.pem"


def _start(command: list[str], log: Path, port: int) -> tuple[subprocess.Popen[bytes], int]:
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc, port
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{Path(command[0]).name} did not start: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def tls_front(target_port: int, tls: TLSFiles) -> Iterator[int]:
    """A TLS listener relaying bytes to ``127.0.0.1:target_port``: puts an ``https://`` face on
    a plain proxy (tinyproxy), as a corporate proxy reached over TLS has. Yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.certfile, tls.keyfile)
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[asyncio.Server] = concurrent.futures.Future()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve() -> None:
        started.set_result(await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context))

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    server = started.result(START_DEADLINE_S)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
