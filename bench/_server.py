"""The benchmarks' server process: route emulator + reference container on one loopback port.

A separate process keeps the server's CPU and GIL out of the client's measurements. It is
``sagemaker-openai-emulator --reference`` plus the reference's ``stamp_sent_at`` switch, and
HTTPS with ``--ssl-certfile``/``--ssl-keyfile`` (uvicorn's names, passed to uvicorn as they are).
Prints ``listening on http(s)://HOST:PORT`` when ready; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import logging

from conformance._emulator import EmulatorConfig, load_credentials_file
from conformance._emulator._app import create_emulator_app
from conformance._reference import ReferenceConfig
from conformance._wire._serve import bind_socket, make_server, run_until_signalled


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._server")
    parser.add_argument("--credentials-file", required=True)
    parser.add_argument("--itl-ms", type=float, default=0.0)
    parser.add_argument("--stamp-sent-at", action="store_true")
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--headers-after-ttft", action="store_true")
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    args = parser.parse_args()
    config = EmulatorConfig(
        credentials=load_credentials_file(args.credentials_file),
        reference=ReferenceConfig(
            itl_ms=args.itl_ms,
            stamp_sent_at=args.stamp_sent_at,
            ttft_ms=args.ttft_ms,
            headers_after_ttft=args.headers_after_ttft,
        ),
    )
    logging.getLogger("conformance.emulator").setLevel(logging.WARNING)
    sock = bind_socket("127.0.0.1", 0)
    server = make_server(create_emulator_app(config))
    scheme = "http"
    if args.ssl_certfile:
        server.config.ssl_certfile, server.config.ssl_keyfile = args.ssl_certfile, args.ssl_keyfile
        scheme = "https"

    def announce(url: str) -> None:
        print(f"listening on {url.replace('http:', f'{scheme}:', 1)}", flush=True)

    try:
        run_until_signalled(server, sock, announce)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
