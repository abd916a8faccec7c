"""pytest plugin: ``pytest --conformance-target URL|reference`` runs each check as a test item.

It is registered under ``pytest11`` and so loads in every pytest run where the package is
installed: until ``--conformance-target`` is given it only adds its options, and imports
nothing heavier than pytest.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .._wire._limits import DEFAULT_BUDGET

if TYPE_CHECKING:
    from .._engine._registry import Check
    from .._engine._runner import Result, Run


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--conformance-*`` options."""
    group = parser.getgroup("sagemaker-openai-conformance", "SageMaker OpenAI conformance kit")
    group.addoption(
        "--conformance-target",
        metavar="URL",
        help="run the conformance checks against this container URL, or "
        "'reference' for the built-in reference container",
    )
    group.addoption(
        "--conformance-mode",
        choices=("direct", "mock"),
        help="direct (default for a URL) or mock (through the local emulator; "
        "default for reference)",
    )
    group.addoption(
        "--conformance-select",
        action="append",
        metavar="GLOB",
        help="only checks whose id matches, e.g. 'sse.*' (repeatable)",
    )
    group.addoption(
        "--conformance-severity",
        choices=("MUST", "SHOULD", "INFO"),
        type=str.upper,
        help="only checks of at least this severity",
    )
    group.addoption(
        "--conformance-strict",
        action="store_true",
        help="fail the checks of the spec layer too (without it a failed spec check is "
        "reported as xfail: the specification requires it, no client needs it)",
    )
    group.addoption(
        "--conformance-model",
        default="",
        metavar="NAME",
        help='the "model" value to send (default "")',
    )
    group.addoption(
        "--conformance-request-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="deadline for each whole answer (default 20)",
    )
    group.addoption(
        "--conformance-budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="SECONDS",
        help="time budget for all conformance checks, from the first one on; the rest are "
        f"skipped as not run (default {DEFAULT_BUDGET:g}, as the command line)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; start nothing until a check runs."""
    config.addinivalue_line("markers", "conformance: a SageMaker OpenAI conformance check")
    if config.getoption("conformance_target"):
        config.pluginmanager.register(_Session(config), "sagemaker-openai-conformance-session")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the session as Ctrl-C does, so pytest still writes its reports.

    A CI runner ends a job that runs too long with SIGTERM; by default that kills pytest
    before its JUnit report is written. Only a default handler is replaced, only in the main
    thread, and only while the conformance session lasts.
    """
    installed = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )
    if installed:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name}")


class ConformanceFailed(AssertionError):
    """A failed or errored check, carried to ``repr_failure``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ConformanceItem(pytest.Item):
    """One conformance check as a pytest test item; its name is the check id."""

    def __init__(self, *, check: Check, state: _Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.state = state
        self.add_marker("conformance")

    def runtest(self) -> None:
        """Run the check through the kit's runner; map the outcome to pytest's."""
        from .._engine._escape import for_terminal
        from .._engine._registry import Outcome
        from .._engine._reporters import format_evidence, how_to_fix

        result: Result = self.state.run(self.check)
        # pytest prints both on a terminal (and escapes its JUnit report itself).
        if result.outcome is Outcome.SKIPPED:
            pytest.skip(for_terminal(result.message))
        if result.broken and result.layer == "spec" and not self.state.strict:
            # The strict layer never fails a run unless asked to (--conformance-strict).
            pytest.xfail(for_terminal(f"spec layer, not gating: {result.message}"))
        if result.broken:
            head = f"{result.outcome.value} ({self.check.level}): {result.message}"
            head += "\n" + how_to_fix(result)
            evidence = format_evidence(result.evidence)
            raise ConformanceFailed(for_terminal(head + ("\n" + evidence if evidence else "")))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """Show the verdict and its evidence, not a traceback into the kit."""
        if isinstance(excinfo.value, ConformanceFailed):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where pytest says the test lives."""
        return (
            self.path,
            None,
            f"{self.check.id} [{self.check.level}] {self.check.summary}",
        )


class _Session:
    """The target of one pytest session, started lazily and stopped at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._stack = contextlib.ExitStack()
        self._run: Run | None = None
        self.strict: bool = bool(config.getoption("conformance_strict"))
        self._stack.enter_context(_sigterm_interrupts())

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Append one item per selected check, before -k and -m deselect anything."""
        from .._engine._runner import resolve_mode
        from ..checks import select_checks

        target = config.getoption("conformance_target")
        mode = resolve_mode(target, config.getoption("conformance_mode"))
        checks = select_checks(
            select=config.getoption("conformance_select"),
            severity=config.getoption("conformance_severity"),
            mode=mode,
        )
        for chk in checks:
            items.append(
                ConformanceItem.from_parent(
                    session, name=chk.id, nodeid=chk.id, check=chk, state=self
                )
            )

    def run(self, check: Check) -> Result:
        """Step the session's run through one check: the engine's verdict, as the CLI gets it."""
        return self.engine().step(check)

    def engine(self) -> Run:
        """The session's run; starts the reference or the emulator on first use."""
        if self._run is None:
            from .._engine._context import CheckContext
            from .._engine._runner import Run, open_target
            from .._wire._limits import DEFAULT_REQUEST_TIMEOUT, Limits

            opts = self.config.getoption
            target = self._stack.enter_context(
                open_target(opts("conformance_target"), opts("conformance_mode"))
            )
            limits = Limits(
                request_timeout=opts("conformance_request_timeout") or DEFAULT_REQUEST_TIMEOUT,
                budget=opts("conformance_budget"),
            )
            ctx = CheckContext(target, model=opts("conformance_model"), limits=limits)
            self._stack.callback(ctx.close)
            self._run = Run(ctx)
        return self._run

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say why the conformance run stopped early, when it did."""
        stop = self._run.stop if self._run is not None else None
        if stop is not None:
            terminalreporter.write_line(f"conformance: the run stopped early: {stop.message}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """A run that stopped early is incomplete: never a passing session."""
        if self._run is not None and self._run.stop is not None and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop anything the session started."""
        self._stack.close()
