"""`sagemaker-openai-reference`: run the reference container alone on a local port."""

from __future__ import annotations

import argparse
import sys

from conformance._reference._app import create_reference_app
from conformance._reference._config import FAULTS, ReferenceConfig
from conformance._wire._serve import bind_socket, make_server, run_until_signalled


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    defaults = ReferenceConfig()
    parser = argparse.ArgumentParser(
        prog="sagemaker-openai-reference",
        description="Serve the deterministic OpenAI-compatible reference container "
        "(GET /ping, POST /invocations, POST /v1/chat/completions, GET /v1/models).",
        epilog="faults: " + "; ".join(f"{name}: {text}" for name, text in FAULTS.items()),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port, 0 picks a free one (default 8080)"
    )
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="delay before the first chunk")
    parser.add_argument("--itl-ms", type=float, default=0.0, help="delay between token chunks")
    parser.add_argument(
        "--headers-after-ttft",
        action="store_true",
        help="hold a stream's response headers until its first chunk is due (--ttft-ms)",
    )
    parser.add_argument(
        "--context-limit", type=int, default=defaults.context_limit, help="context window in tokens"
    )
    parser.add_argument(
        "--max-output-tokens",
        type=int,
        default=defaults.max_output_tokens,
        help="completion budget when the request sets none",
    )
    parser.add_argument("--model-name", default=defaults.model_name, help="the `model` reported")
    parser.add_argument(
        "--reasoning", action="store_true", help="emit reasoning_content unless a request opts out"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        metavar="NAME",
        help="misbehave on purpose (repeatable); names are listed below",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level; 'info' adds access logs (default warning)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server until Ctrl-C or SIGTERM; print `listening on http://HOST:PORT` when ready."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = ReferenceConfig(
            ttft_ms=args.ttft_ms,
            itl_ms=args.itl_ms,
            headers_after_ttft=args.headers_after_ttft,
            context_limit=args.context_limit,
            max_output_tokens=args.max_output_tokens,
            faults=frozenset(args.fault),
            model_name=args.model_name,
            reasoning=args.reasoning,
        )
        sock = bind_socket(args.host, args.port)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    server = make_server(
        create_reference_app(config),
        log_level=args.log_level,
        access_log=args.log_level in ("info", "debug"),
    )
    try:
        run_until_signalled(server, sock, lambda url: print(f"listening on {url}", flush=True))
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
