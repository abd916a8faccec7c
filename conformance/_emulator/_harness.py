"""Run the emulator on a real loopback port for tests and the demo, and clean up after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from conformance._wire._serve import TLSFiles, serve_app

from ._app import create_emulator_app
from ._config import EmulatorConfig

__all__ = ["run_emulator", "serve_app"]


@contextlib.contextmanager
def run_emulator(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: TLSFiles | None = None,
) -> Iterator[str]:
    """Serve the emulator with uvicorn in a background thread and yield its base URL.

    With ``tls`` it serves HTTPS and the URL starts with ``https://``.

    With ``config.reference`` set, the reference container runs inside the same server
    (see ``create_emulator_app``): one port, one thread, nothing else to stop. The server is
    stopped and its thread joined when the block exits.
    """
    with serve_app(create_emulator_app(config), host=host, port=port, tls=tls) as base_url:
        yield base_url
