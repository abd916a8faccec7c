"""``sagemaker-openai-models``: print a proxy ``config.yaml`` for a region's deployments.

Exit codes: 0 the config was printed; 1 it was printed, and ``--probe`` found a deployment that
did not answer; 2 nothing was printed (bad arguments, no region or credentials, the control
plane refused or could not be reached). Only botocore is imported, and LiteLLM (~3.5 s) only
for ``--probe``, which sends through the provider's own sender.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from ._discover import Deployment, discover, printable, render_config
from ._exceptions import ConfigurationError

PROG: Final = "sagemaker-openai-models"
PROBE_MESSAGES: Final = [{"role": "user", "content": "ping"}]
PROBE_WORKERS: Final = 8
CONTROL_ACTIONS: Final = (
    "sagemaker:ListEndpoints, sagemaker:DescribeEndpoint and sagemaker:ListInferenceComponents"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List the in-service SageMaker endpoints and inference components of a "
        "region and print a LiteLLM proxy config.yaml that serves each one through the "
        "sagemaker_openai provider.",
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    parser.add_argument("--profile", help="AWS profile for the control plane and the probe")
    parser.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="GLOB",
        help="keep deployments whose endpoint or inference component name matches this shell "
        "glob, e.g. 'qwen-*' (repeatable; default: all)",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="SageMaker control-plane URL (a VPC endpoint, or the route emulator's address)",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="send one 1-token request per deployment on the OpenAI route and mark in the "
        "config what answered; exit 1 if one did not",
    )
    parser.add_argument(
        "--api-base",
        metavar="URL",
        help="where --probe sends (default: SAGEMAKER_OPENAI_API_BASE, else the regional "
        "runtime host)",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=60.0, help="seconds per probe (default: %(default)s)"
    )
    return parser


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def _client(args: argparse.Namespace, region: str) -> Any:
    import botocore.session

    session = botocore.session.Session(profile=args.profile)
    return session.create_client("sagemaker", region_name=region, endpoint_url=args.endpoint_url)


def _probe_one(deployment: Deployment, args: argparse.Namespace, region: str) -> str:
    from ._options import Options
    from ._request import prepare
    from ._send import complete_sync

    started = time.perf_counter()
    try:
        options = Options(
            {"api_base": args.api_base, "timeout": args.timeout},
            {"aws_region_name": region, "aws_profile_name": args.profile},
        )
        call = prepare(deployment.model, PROBE_MESSAGES, options, {"max_tokens": 1}, stream=False)
        complete_sync(call)
    except Exception as exc:  # every failure is a finding about this deployment, not a crash
        return f"probe: FAILED: {type(exc).__name__}: {exc}"
    return f"probe: answered in {(time.perf_counter() - started) * 1000:.0f} ms"


def probe(
    deployments: Sequence[Deployment], args: argparse.Namespace, region: str
) -> dict[str, str]:
    """One 1-token chat completion per deployment, a few at a time: name -> what happened."""
    with ThreadPoolExecutor(PROBE_WORKERS) as pool:
        results = pool.map(lambda d: _probe_one(d, args, region), deployments)
        return {d.name: result for d, result in zip(deployments, results, strict=True)}


def _explain(exc: Exception) -> str:
    """What went wrong with the control plane, and how to fix it."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found; set AWS_PROFILE, pass --profile, or export keys"
    if isinstance(exc, EndpointConnectionError):
        return f"{printable(exc)}; check --endpoint-url and the network"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        hint = f"; the identity needs {CONTROL_ACTIONS}" if "AccessDenied" in code else ""
        return f"{printable(exc)}{hint}"
    return printable(f"{type(exc).__name__}: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the config on stdout, anything else on stderr; return the exit status."""
    args = build_parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    from ._credentials import resolve_region

    skipped: list[str] = []
    try:
        region = resolve_region(args.region, args.profile)
        deployments = discover(_client(args, region), args.match, skipped)
    except ConfigurationError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"{PROG}: error: {_explain(exc)}", file=sys.stderr)
        return 2
    for line in skipped:
        print(f"{PROG}: {line}", file=sys.stderr)
    notes = probe(deployments, args, region) if args.probe and deployments else {}
    sys.stdout.write(render_config(deployments, region, notes))
    failed = [name for name, note in notes.items() if note.startswith("probe: FAILED")]
    if not deployments:
        print(f"{PROG}: no in-service endpoint or component matched in {region}", file=sys.stderr)
    elif args.probe:
        answered = len(notes) - len(failed)
        print(f"{PROG}: {answered} of {len(notes)} deployments answered", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
