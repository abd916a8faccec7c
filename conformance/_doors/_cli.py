"""``sagemaker-openai-conformance``: run the kit from the command line.

Exit codes: 0 no MUST check failed; 1 one did; 2 usage error or unreachable target; 3 the run
stopped early (budget, or the target stopped answering); 128 + N after signal N (130 SIGINT,
143 SIGTERM). Every report, also a partial one, is written before the exit.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .._clients import CLIENTS_VARIABLE, select_clients
from .._engine._context import CheckContext
from .._engine._escape import Terminal
from .._engine._live import diagnose
from .._engine._registry import Check, Severity
from .._engine._repeat import run_repeated
from .._engine._report import EXIT_USAGE
from .._engine._reporters import FORMATS, REPORTERS, count, progress_line
from .._engine._runner import (
    Report,
    Result,
    not_started,
    open_target,
    request_bound,
    resolve_mode,
)
from .._wire._client import reach
from .._wire._limits import (
    DEFAULT_BUDGET,
    DEFAULT_REQUEST_TIMEOUT,
    Interrupted,
    Limits,
    RunStopped,
    process_age,
)
from .._wire._target import Target, validate_base_url
from ..checks import select_checks
from ._matrix import install_clients, run_matrix

REACH_TIMEOUT = 5.0


class UsageError(Exception):
    """Bad arguments or an unreachable target: exit 2 with this one-line message."""


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"{value!r} must be a positive number of seconds")
    return seconds


def _runs(value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of runs, 1 or more")
    return int(value)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other usage error (argparse would print the whole usage).
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for --help)."""
    parser = _Parser(
        prog="sagemaker-openai-conformance",
        description="Check that a container behaves as SageMaker AI's OpenAI-compatible route "
        "and OpenAI clients need. Exit 0: no MUST check failed; 1: one did (or, with "
        "--strict, a check of the spec layer); 2: usage error "
        "or unreachable target; 3: stopped early (budget, or the target stopped answering); "
        "130/143: interrupted (SIGINT/SIGTERM). A partial report is still written.",
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
    bounds = parser.add_argument_group("bounds (docs/kit/running.md)")
    bounds.add_argument(
        "--budget",
        type=_seconds,
        metavar="SECONDS",
        help=f"the whole run's time budget; checks left when it runs out are reported as "
        f"not run (default {DEFAULT_BUDGET:g}, times N with --repeat N)",
    )
    bounds.add_argument(
        "--request-timeout",
        type=_seconds,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help=f"deadline for each whole answer, headers to last byte "
        f"(default {DEFAULT_REQUEST_TIMEOUT:g})",
    )
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
        "--strict",
        action="store_true",
        help="also fail the run (exit 1) on a failed check of the spec layer: what the "
        "OpenAI specification requires but no client of the matrix needs",
    )
    run.add_argument(
        "--format", choices=FORMATS, default="text", help="report format (default text)"
    )
    run.add_argument("--output", metavar="FILE", help="write the report here (default stdout)")
    run.add_argument(
        "--repeat",
        type=_runs,
        default=1,
        metavar="N",
        help="run the checks N times and "
        "report the verdicts that change (flaky); each check shows its worst verdict",
    )
    run.add_argument(
        "--model", default="", metavar="NAME", help='the "model" value to send (default "")'
    )
    run.add_argument("--list", action="store_true", help="list the checks and exit")
    matrix = parser.add_argument_group("client matrix (docs/kit/clients.md)")
    matrix.add_argument(
        "--clients",
        action="append",
        metavar="GLOB",
        help="run only these real clients against the target before the checks (repeatable or "
        "comma-separated ids or globs, e.g. 'openai-*'; 'none' runs none; default "
        f"${CLIENTS_VARIABLE}, else all)",
    )
    matrix.add_argument(
        "--install-clients",
        action="store_true",
        help="install the clients' pinned environments into the kit's cache "
        "($SAGEMAKER_OPENAI_CONFORMANCE_CACHE, else ~/.cache/sagemaker-openai-conformance) "
        "and exit",
    )
    return parser


def _check_output(path: str | None) -> None:
    # Checked before the run: a live run costs money, and its report must not be lost.
    if path is None:
        return
    file = Path(path)
    parent = file.parent if str(file.parent) else Path(".")
    if file.is_dir():
        raise UsageError(f"--output {path!r} is a directory; give a file name")
    if not parent.is_dir():
        raise UsageError(f"--output {path!r}: the directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (file.exists() and not os.access(file, os.W_OK)):
        raise UsageError(f"--output {path!r} is not writable")


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


def _local_target(args: argparse.Namespace) -> str:
    if args.inference_component or args.runtime_url or args.region:
        raise UsageError(
            "--inference-component, --region and --runtime-url need --endpoint (live mode)"
        )
    if not args.target or args.target == "reference":
        return "reference"
    try:
        return validate_base_url(args.target)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_reachable(base_url: str, limits: Limits) -> None:
    # Only "nothing listens" stops the run here: any answer, even a 404 or a silence after
    # connecting, is left for the checks (and the liveness probe) to judge. The probe reads
    # no further than the headers, within the run's bounds (an endless GET / cannot hold it).
    probe = reach(base_url, limits)
    if probe.unreachable:
        raise UsageError(
            f"cannot reach {base_url} ({probe.transport_error}); is the "
            "container running and listening on that address?"
        )


def _confirm(bound: int, target: Target, assume_yes: bool, err: Terminal) -> None:
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
def _signals_stop_the_run() -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM raise Interrupted, once, in the main thread, until ``hold()``.

    Installed before the reachability probe, so a signal at any moment of a run leaves a
    report. After the first signal, or once the report is due (``hold()``), further signals
    wait for the report to be written.
    """
    held: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if not held:
            held.append(signum)
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: held.append(0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write(report: Report, args: argparse.Namespace) -> None:
    if args.output is None:
        REPORTERS[args.format](report, sys.stdout)
        return
    with open(args.output, "w", encoding="utf-8") as handle:
        REPORTERS[args.format](report, handle)


def _list(checks: list[Check], out: TextIO) -> None:
    for chk in checks:
        modes = ",".join(chk.modes)
        out.write(f"{chk.id:<40} {chk.severity.value:<6} {modes:<17} {chk.summary}\n")


def _execute(
    args: argparse.Namespace, checks: list[Check], err: Terminal, started_before: float
) -> int:
    live = args.endpoint is not None
    target: Target | str = _live_target(args) if live else _local_target(args)
    budget = args.budget or DEFAULT_BUDGET * args.repeat
    limits = Limits(request_timeout=args.request_timeout, budget=budget)
    limits.start(already=started_before)
    ran: list[Report] = []
    with _signals_stop_the_run() as hold:

        def finish(report: Report) -> int:
            hold()
            report = dataclasses.replace(report, strict=args.strict)
            if report.stopped is not None:
                err.write(f"stopped early: {report.stopped.message}\n")
            _write(report, args)
            return report.exit_code

        try:
            if isinstance(target, str) and target != "reference":
                _check_reachable(target, limits)
            with open_target(target, None if live else args.mode) as resolved:
                ctx = CheckContext(resolved, model=args.model, limits=limits)
                try:
                    ran.append(_run(args, checks, ctx, err))
                    # Written before the local servers stop: a signal now waits for it.
                    return finish(ran[0])
                finally:
                    ctx.close()
        except RunStopped as exc:  # before the first check: a signal, or the budget ran out
            if ran:  # the signal came as the finished run's report was due
                return finish(ran[0])
            label = target.label if isinstance(target, Target) else target
            mode = resolve_mode(target, args.mode)
            stopped = not_started(checks, target=label, mode=mode, limits=limits, stop=exc)
            return finish(stopped)


def _run(args: argparse.Namespace, checks: list[Check], ctx: CheckContext, err: Terminal) -> Report:
    applicable = [c for c in checks if c.applies_to(ctx.mode)]
    if ctx.mode == "live":
        _confirm(request_bound(applicable), ctx.target, args.yes, err)
        diagnosis = diagnose(ctx)
        err.write("".join(f"  {line}\n" for line in diagnosis.lines))
        if not diagnosis.ok:
            raise UsageError("live preflight failed; see above")
    limits = ctx.limits
    # Live mode runs real (billed) clients only when asked to by name.
    wanted = args.clients if ctx.mode != "live" or args.clients else ["none"]
    clients = run_matrix(ctx.target, wanted, model=args.model, limits=limits, err=err)
    times = f" {args.repeat} times" if args.repeat > 1 else ""
    err.write(
        f"running {count(len(applicable), 'check')}{times} against {ctx.target.label} ({ctx.mode} "
        f"mode; budget {limits.budget:g} s, {limits.request_timeout:g} s per request)\n"
    )
    total = len(applicable) * args.repeat
    counter = iter(range(1, total + 1))

    def progress(chk: Check, result: Result) -> None:
        err.write(progress_line(next(counter), total, chk, result) + "\n")
        err.flush()

    report = run_repeated(checks, ctx, args.repeat, on_result=progress)
    return dataclasses.replace(report, clients=clients)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sagemaker-openai-conformance`` and ``python -m conformance``."""
    parser = build_parser()
    err = Terminal(sys.stderr)
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help
            return int(exc.code or 0)
        if args.clients is None and os.environ.get(CLIENTS_VARIABLE):  # a CI's standing choice
            args.clients = [os.environ[CLIENTS_VARIABLE]]
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
        if args.install_clients:
            return install_clients(err)
        try:
            select_clients(args.clients)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        _check_output(args.output)
        # Run as a program (no argv given), start-up and imports count against the budget;
        # called from a long-lived process (tests, scripts), the budget starts now.
        return _execute(args, checks, err, process_age() if argv is None else 0.0)
    except UsageError as exc:
        err.write(f"sagemaker-openai-conformance: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the run's own handlers were installed: nothing to report
        err.write("sagemaker-openai-conformance: interrupted (SIGINT)\n")
        return 128 + int(signal.SIGINT)
    except BrokenPipeError:  # the reader went away (| head); nothing left to say
        sys.stderr.close()
        return 1
