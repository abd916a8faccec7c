"""``sagemaker-openai-conformance``: run the kit from the command line (exit 0, 1 or 2)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

import httpx

from ._context import CheckContext
from ._live import diagnose
from ._registry import Check, Severity
from ._reporters import FORMATS, REPORTERS, progress_line
from ._runner import Report, Result, open_target, request_bound, run_checks, select_checks
from ._target import Target

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or an unreachable target: exit 2 with this message."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for --help)."""
    parser = argparse.ArgumentParser(
        prog="sagemaker-openai-conformance",
        description="Check that a container behaves as SageMaker AI's OpenAI-compatible route "
        "and OpenAI clients need. Exit 0: no MUST check failed; 1: one did; 2: usage error "
        "or unreachable target.",
    )
    where = parser.add_argument_group("target (default: --target reference --mode mock)")
    where.add_argument(
        "--target", metavar="URL", help="container base URL, or 'reference' (the built-in one)"
    )
    where.add_argument(
        "--mode",
        choices=("direct", "mock"),
        help="direct: talk to the container; mock: through the local emulator "
        "(default: direct for a URL, mock for reference)",
    )
    live = parser.add_argument_group("live mode (a real endpoint; costs a few tiny requests)")
    live.add_argument("--endpoint", metavar="NAME", help="SageMaker endpoint name")
    live.add_argument("--region", help="AWS region of the endpoint")
    live.add_argument("--inference-component", metavar="NAME", help="inference component name")
    live.add_argument(
        "--runtime-url", metavar="URL", help="override the runtime base URL (VPC endpoints)"
    )
    live.add_argument("--yes", action="store_true", help="do not ask before sending requests")
    run = parser.add_argument_group("selection and output")
    run.add_argument(
        "--select",
        action="append",
        metavar="GLOB",
        help="run only checks whose id matches (repeatable; e.g. 'sse.*')",
    )
    run.add_argument(
        "--severity",
        choices=("MUST", "SHOULD", "INFO"),
        type=str.upper,
        help="run only checks of at least this severity",
    )
    run.add_argument(
        "--format", choices=FORMATS, default="text", help="report format (default text)"
    )
    run.add_argument("--output", metavar="FILE", help="write the report here (default stdout)")
    run.add_argument(
        "--model", default="", metavar="NAME", help='the "model" value to send (default "")'
    )
    run.add_argument("--list", action="store_true", help="list the checks and exit")
    return parser


def _live_target(args: argparse.Namespace) -> Target:
    if args.target or args.mode:
        raise UsageError("--endpoint (live mode) cannot be combined with --target or --mode")
    if not args.region:
        raise UsageError("live mode needs --region, e.g. --endpoint my-ep --region us-east-1")
    try:
        return Target.live(
            args.endpoint,
            args.region,
            inference_component=args.inference_component,
            base_url=args.runtime_url,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_reachable(target: Target) -> None:
    # Any HTTP answer will do (even 404): we only want to tell "nothing listens" apart.
    try:
        httpx.get(target.base_url + "/", timeout=5.0)
    except httpx.HTTPError as exc:
        raise UsageError(
            f"cannot reach {target.base_url} ({type(exc).__name__}); is the "
            "container running and listening on that address?"
        ) from None


def _confirm(bound: int, target: Target, assume_yes: bool, err: TextIO) -> None:
    err.write(
        f"live mode: at most {bound} requests to {target.label} "
        "(max_completion_tokens <= 64 each; most use 16)\n"
    )
    if assume_yes:
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(
            "live mode sends real (billed) requests; pass --yes to confirm when "
            "there is no terminal to ask"
        )
    err.write("continue? [y/N] ")
    err.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise UsageError("cancelled")


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


def _list(checks: list[Check], out: TextIO) -> None:
    for chk in checks:
        modes = ",".join(chk.modes)
        out.write(f"{chk.id:<40} {chk.severity.value:<6} {modes:<17} {chk.summary}\n")


def _execute(args: argparse.Namespace, checks: list[Check], err: TextIO) -> Report:
    live = args.endpoint is not None
    target: Target | str = _live_target(args) if live else (args.target or "reference")
    if not live and args.target and args.target != "reference":
        try:
            _check_reachable(Target.direct(args.target))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    with open_target(target, None if live else args.mode) as resolved:
        applicable = [c for c in checks if c.applies_to(resolved.mode)]
        ctx = CheckContext(resolved, model=args.model)
        try:
            if live:
                _confirm(request_bound(applicable), resolved, args.yes, err)
                diagnosis = diagnose(ctx)
                err.write("".join(f"  {line}\n" for line in diagnosis.lines))
                if not diagnosis.ok:
                    raise UsageError("live preflight failed; see above")
            err.write(
                f"running {len(applicable)} checks against {resolved.label} "
                f"({resolved.mode} mode)\n"
            )
            counter = iter(range(1, len(applicable) + 1))

            def progress(chk: Check, result: Result) -> None:
                err.write(progress_line(next(counter), len(applicable), chk, result) + "\n")
                err.flush()

            return run_checks(checks, ctx, on_result=progress)
        finally:
            ctx.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sagemaker-openai-conformance`` and ``python -m conformance``."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 for --help
        return int(exc.code or 0)
    err = sys.stderr
    try:
        checks = select_checks(
            select=args.select, severity=Severity.parse(args.severity) if args.severity else None
        )
        if not checks:
            raise UsageError(
                f"no check matches --select {' '.join(args.select or [])!r}; see --list"
            )
        if args.list:
            _list(checks, sys.stdout)
            return 0
        report = _execute(args, checks, err)
    except UsageError as exc:
        err.write(f"sagemaker-openai-conformance: error: {exc}\n")
        return EXIT_USAGE
    with _output(args.output) as out:
        REPORTERS[args.format](report, out)
    return report.exit_code
