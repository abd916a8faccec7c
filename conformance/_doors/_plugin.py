"""pytest plugin: ``pytest --conformance-target URL|reference`` runs each check as a test item.

It is registered under ``pytest11`` and so loads in every pytest run where the package is
installed: until ``--conformance-target`` is given it only adds its options, and imports
nothing heavier than pytest.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._engine._context import CheckContext
    from .._engine._registry import Check
    from .._engine._runner import Result


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
        default=None,
        metavar="SECONDS",
        help="time budget for all conformance checks; the rest are skipped (default: none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; start nothing until a check runs."""
    config.addinivalue_line("markers", "conformance: a SageMaker OpenAI conformance check")
    if config.getoption("conformance_target"):
        config.pluginmanager.register(_Session(config), "sagemaker-openai-conformance-session")


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
        from .._engine._registry import Outcome
        from .._engine._reporters import format_evidence, how_to_fix

        result: Result = self.state.run(self.check)
        if result.outcome is Outcome.SKIPPED:
            pytest.skip(result.message)
        if result.outcome in (Outcome.FAILED, Outcome.ERRORED):
            head = f"{result.outcome.value} ({self.check.severity.value}): {result.message}"
            head += "\n" + how_to_fix(result)
            evidence = format_evidence(result.evidence)
            raise ConformanceFailed(head + ("\n" + evidence if evidence else ""))

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
            f"{self.check.id} [{self.check.severity.value}] {self.check.summary}",
        )


class _Session:
    """The target of one pytest session, started lazily and stopped at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._stack = contextlib.ExitStack()
        self._ctx: CheckContext | None = None
        self._stopped: str | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Append one item per selected check, before -k and -m deselect anything."""
        from ..checks import select_checks

        mode = config.getoption("conformance_mode")
        target = config.getoption("conformance_target")
        mode = mode or ("mock" if target == "reference" else "direct")
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
        """Run one check against the shared context; once stopped, report it as not run."""
        from .._engine._registry import Outcome
        from .._engine._report import Result
        from .._engine._runner import run_check
        from .._wire._limits import RunStopped

        if self._stopped is None:
            try:
                return run_check(check, self.context())
            except RunStopped as exc:
                self._stopped = exc.message
        return Result(check.id, check.severity, Outcome.SKIPPED, f"not run: {self._stopped}")

    def context(self) -> CheckContext:
        """The run's CheckContext; starts the reference or emulator on first use."""
        if self._ctx is None:
            from .._engine._context import CheckContext
            from .._engine._runner import open_target
            from .._wire._limits import DEFAULT_REQUEST_TIMEOUT, Limits

            opts = self.config.getoption
            target = self._stack.enter_context(
                open_target(opts("conformance_target"), opts("conformance_mode"))
            )
            limits = Limits(
                request_timeout=opts("conformance_request_timeout") or DEFAULT_REQUEST_TIMEOUT,
                budget=opts("conformance_budget"),
            )
            self._ctx = CheckContext(target, model=opts("conformance_model"), limits=limits)
            self._stack.callback(self._ctx.close)
        return self._ctx

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop anything the session started."""
        self._stack.close()
