"""Mock mode health-checks the container as SageMaker does: no /ping, no traffic through the route.

The reference container runs on its own port with the no_ping fault, as a container under test
does; the kit puts the emulator in front of it (``--target URL --mode mock``).
"""

from __future__ import annotations

import conformance
from conformance._engine._local import reference_target
from conformance._engine._registry import Outcome, Severity

NOT_IN_SERVICE = "Endpoint conformance-kit of account 123456789012 is not in service"


def test_a_container_without_ping_gets_no_route_traffic_in_mock_mode() -> None:
    with reference_target("direct", ("no_ping",)) as container:
        report = conformance.run(container.base_url, mode="mock")
    outcomes = {r.id: r for r in report.results}
    assert outcomes["container.ping"].outcome is Outcome.FAILED
    assert outcomes["container.ping_busy"].outcome is Outcome.FAILED
    route = outcomes["container.route"]
    assert route.outcome is Outcome.FAILED and NOT_IN_SERVICE in route.message
    assert "did not pass the ping health check" in route.message
    # Everything else that needs the route is blocked on it, not failed once per check.
    must_failed = {
        r.id for r in report.results if r.outcome is Outcome.FAILED and r.severity is Severity.MUST
    }
    assert must_failed - {"container.ping", "container.ping_busy"} <= {
        "container.route",
        "container.empty_model",
    }
    assert all(NOT_IN_SERVICE in outcomes[c].message for c in must_failed if "ping" not in c)
    assert outcomes["chat.schema"].outcome is Outcome.SKIPPED
    assert outcomes["chat.schema"].message.startswith("blocked:")
    assert report.exit_code == 1


def test_the_in_process_reference_is_not_health_checked() -> None:
    # The kit's own mock target serves the reference in-process behind the route and checks its
    # /ping on a copy of its own: the fault fails the ping checks, and only them.
    with reference_target("mock", ("no_ping",)) as target:
        report = conformance.run(target, mode="mock")
    failed = {r.id for r in report.results if r.outcome is Outcome.FAILED}
    assert failed == {"container.ping", "container.ping_busy"}
