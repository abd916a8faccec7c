"""docs/kit/clients.md lists the catalogue's clients and environments, no more and no fewer."""

from __future__ import annotations

import json
from pathlib import Path

from conformance._clients import CLIENTS, CLIENTS_VARIABLE, ENVIRONMENTS

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "kit" / "clients.md").read_text(encoding="utf-8")


def _rows(header: str) -> list[list[str]]:
    lines = PAGE.split(header, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_client_table_is_the_catalogue() -> None:
    rows = _rows("| id | client | environment | modes | how it calls |")
    expected = [
        [f"`{c.id}`", c.title, f"`{c.environment}`", ", ".join(c.modes), c.notes] for c in CLIENTS
    ]
    assert rows == expected


def test_every_environment_and_pin_is_on_the_page() -> None:
    rows = {r[0].strip("`"): r[1] for r in _rows("| environment | what it is |")}
    assert set(rows) == set(ENVIRONMENTS)
    for env in ENVIRONMENTS.values():
        assert all(f"`{pin}`" in rows[env.name] for pin in env.requirements)
    package = ROOT / "conformance" / "_clients" / "drivers" / "node" / "package.json"
    for name, version in json.loads(package.read_text())["dependencies"].items():
        if name != "zod":  # the tool schema's helper, not a client
            assert f"`{name}` {version}" in rows["node"]


def test_the_default_variable_is_documented() -> None:
    assert CLIENTS_VARIABLE in PAGE
