"""``sagemaker-openai-emulator``: serve the emulated SageMaker route on a local port."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import ssl
import sys
import tempfile
from collections.abc import Sequence

from conformance._reference import ReferenceConfig
from conformance._wire._serve import TLSFiles, bind_socket, make_server, run_until_signalled

from ._app import create_emulator_app
from ._capacity import parse_scale_to_zero_flag
from ._config import EmulatorConfig, parse_component_flag, parse_endpoint_flag
from ._credentials import generate_test_credentials, load_credentials_file, write_credentials_file
from ._errors import FAULTS, parse_fault_flag


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-openai-emulator",
        description="Emulate SageMaker AI's OpenAI-compatible route (bearer tokens, endpoint "
        "and inference-component routing, streaming) in front of local containers.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME[=URL]",
        help="serve endpoint NAME from the container at URL, or from the reference container "
        "without =URL (repeatable); the control plane lists it",
    )
    parser.add_argument(
        "--component",
        action="append",
        default=[],
        metavar="EP/IC[=URL]",
        help="serve inference component IC of endpoint EP from the container at URL, or from "
        "the reference container without =URL (repeatable); the control plane lists it",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="serve every endpoint and component not mapped above from the built-in "
        "reference container (in-process)",
    )
    parser.add_argument(
        "--region",
        default="us-east-1",
        help="region of the emulated endpoints (default: %(default)s)",
    )
    parser.add_argument(
        "--credentials-file",
        metavar="PATH",
        help="AWS shared-credentials file whose key pairs are accepted; without it a demo "
        "pair is generated and its file path printed on stderr",
    )
    parser.add_argument("--ttft-ms", type=float, help="reference container: time to first token")
    parser.add_argument("--itl-ms", type=float, help="reference container: gap between tokens")
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="answer this fraction (0-1) of requests with 429 ThrottlingException and "
        "Retry-After: 0, to exercise client retries (default: 0)",
    )
    parser.add_argument(
        "--throttle-seed",
        type=int,
        default=0,
        help="seed for --throttle-rate, so runs throttle the same requests (default: 0)",
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="EP[/IC]=ERROR",
        help="answer every call to endpoint EP (or its component IC) with SageMaker's own error "
        f"ERROR, one of {', '.join(FAULTS)} (repeatable)",
    )
    parser.add_argument(
        "--no-health-check",
        action="store_true",
        help="forward to containers without pinging them first; by default, as SageMaker, a "
        "container whose GET /ping does not answer 200 within 2 s gets no traffic",
    )
    parser.add_argument(
        "--ssl-certfile",
        metavar="PATH",
        help="serve HTTPS with this PEM certificate chain (uvicorn's flag; needs --ssl-keyfile)",
    )
    parser.add_argument(
        "--ssl-keyfile", metavar="PATH", help="the PEM private key of --ssl-certfile"
    )
    parser.add_argument(
        "--scale-to-zero",
        action="append",
        default=[],
        metavar="EP/IC[=SECONDS]",
        help="start inference component IC of endpoint EP at zero copies: calls get "
        "SageMaker's 400 no-capacity ValidationError until SECONDS (default 180) after the "
        "first one (repeatable); served by the reference container unless --component maps it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT or SIGTERM; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.reference and (args.ttft_ms is not None or args.itl_ms is not None):
        parser.error("--ttft-ms and --itl-ms configure the reference container; add --reference")
    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        parser.error("--ssl-certfile and --ssl-keyfile go together: give both, or neither")
    demo_file: str | None = None
    try:
        endpoints = dict(parse_endpoint_flag(value) for value in args.endpoint)
        components = dict(parse_component_flag(value) for value in args.component)
        faults = dict(parse_fault_flag(value) for value in args.fail)
        if args.credentials_file:
            credentials = load_credentials_file(args.credentials_file)
        else:
            demo_file = _write_demo_credentials(args.region)
            credentials = load_credentials_file(demo_file)
        config = EmulatorConfig(
            region=args.region,
            credentials=credentials,
            endpoints=endpoints,
            components=components,
            reference=_reference_config(args),
            throttle_rate=args.throttle_rate,
            throttle_seed=args.throttle_seed,
            faults=faults,
            scale_to_zero=dict(parse_scale_to_zero_flag(value) for value in args.scale_to_zero),
            health_check=not args.no_health_check,
        )
        tls = _tls_files(args)
        sock = bind_socket(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"sagemaker-openai-emulator: error: {exc}", file=sys.stderr)
        _remove(demo_file)
        return 2
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    # The emulator logs one access line per request; httpx's per-hop lines would repeat it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server = make_server(create_emulator_app(config), tls=tls)
    try:
        run_until_signalled(
            server, sock, lambda url: print(f"listening on {url}", flush=True), tls=tls
        )
    finally:
        sock.close()
        _remove(demo_file)
    return 0


def _tls_files(args: argparse.Namespace) -> TLSFiles | None:
    """The TLS files, loaded once here so that a bad one is a one-line error, not a traceback."""
    if args.ssl_certfile is None:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            args.ssl_certfile, args.ssl_keyfile
        )
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        raise ValueError(
            f"--ssl-certfile/--ssl-keyfile: {exc.reason or exc}; give a PEM certificate chain "
            "and the private key that matches it"
        ) from None
    except OSError as exc:
        raise ValueError(f"cannot read {exc.filename or 'the TLS files'}: {exc.strerror}") from None
    return TLSFiles(certfile=args.ssl_certfile, keyfile=args.ssl_keyfile)


def _reference_config(args: argparse.Namespace) -> ReferenceConfig | None:
    if not args.reference:
        return None
    delays = {"ttft_ms": args.ttft_ms, "itl_ms": args.itl_ms}
    return ReferenceConfig(**{name: value for name, value in delays.items() if value is not None})


def _write_demo_credentials(region: str) -> str:
    fd, path = tempfile.mkstemp(prefix="sagemaker-openai-emulator-", suffix=".ini")
    os.close(fd)
    write_credentials_file(path, generate_test_credentials(), region=region)
    print(
        f"demo credentials written to {path}; point clients at them with "
        f"AWS_SHARED_CREDENTIALS_FILE={path}",
        file=sys.stderr,
        flush=True,
    )
    return path


def _remove(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            os.remove(path)


if __name__ == "__main__":
    raise SystemExit(main())
