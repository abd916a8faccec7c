"""A container's bytes never act on the reader: terminal, JUnit XML and JSON reports escape them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from kit.entry_points import PLUGIN
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance._doors._cli import main
from conformance._engine._escape import for_json, for_terminal, for_xml
from conformance._wire._serve import serve_app

# What a hostile (or merely broken) container can put in an error message or a stream.
NASTY = {
    "NUL": "\x00",
    "clear screen": "\x1b[2J\x1b[H",
    "window title (OSC)": "\x1b]0;pwned\x07",
    "BEL": "\x07",
    "backspace": "ok\x08\x08",
    "carriage return": "FAILED\rpassed",
    "one-byte CSI (C1)": "\x9b31m",
    "DEL": "\x7f",
    "bidi override": "\u202egnp.exe",
    "vertical tab and form feed": "\x0b\x0c",
}
RAW = "".join(NASTY.values())
# Everything a terminal obeys or an XML parser refuses; newline and tab are kept as they are.
FORBIDDEN = set("\x00\x07\x08\x0b\x0c\x0d\x1b\x7f\x9b\u202e")


async def refuse(request: Request) -> Response:
    # A JSON error whose message carries every nasty character, and a lone surrogate.
    message = json.dumps(RAW)[1:-1] + "\\ud800"
    body = '{"error": {"message": "' + message + '", "type": "invalid_request_error"}}'
    return Response(body, status_code=400, media_type="application/json")


async def ping(request: Request) -> Response:
    async def nasty() -> Iterator[bytes]:  # type: ignore[misc]
        yield RAW.encode("utf-8")

    return StreamingResponse(nasty(), status_code=503, media_type="text/plain")


APP = Starlette(
    routes=[
        Route("/ping", ping),
        Route("/{path:path}", refuse, methods=["GET", "POST"]),
    ]
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_app(APP) as base:
        yield base


def run_cli(url: str, fmt: str, tmp_path: Path) -> str:
    output = tmp_path / f"report.{fmt}"
    args = ["--target", url, "--select", "container.*", "--format", fmt, "--output", str(output)]
    assert main([*args, "--budget", "60"]) == 1
    return output.read_bytes().decode("utf-8")  # strict: the report is valid UTF-8


def test_the_junit_report_stays_valid_xml(url: str, tmp_path: Path) -> None:
    text = run_cli(url, "junit", tmp_path)
    root = ET.fromstring(text)  # a NUL, an ESC or a lone surrogate would make this raise
    failures = [f for f in root.iter("failure")]
    assert failures
    shown = " ".join((f.get("message") or "") + (f.text or "") for f in failures)
    assert "\\x00" in shown and "\\x1b]0;pwned\\x07" in shown and "\\ud800" in shown
    assert not FORBIDDEN & set(text)


def test_the_text_report_passes_no_control_to_the_terminal(url: str, tmp_path: Path) -> None:
    text = run_cli(url, "text", tmp_path)
    assert not FORBIDDEN & set(text)
    assert "\\x1b[2J" in text and "FAILED\\rpassed" in text and "\\u202egnp.exe" in text


def test_the_json_report_keeps_the_text_and_escapes_it(url: str, tmp_path: Path) -> None:
    text = run_cli(url, "json", tmp_path)
    assert not FORBIDDEN & set(text)
    messages = " ".join(r["message"] for r in json.loads(text)["results"])
    assert RAW in messages  # JSON's escapes read back to the very characters sent


def test_progress_and_errors_on_stderr_are_escaped(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(url, "json", tmp_path)
    err = capsys.readouterr().err
    assert "running" in err and not FORBIDDEN & set(err)


@pytest.mark.parametrize("name", sorted(NASTY))
def test_every_kind_of_control_is_shown_not_obeyed(name: str) -> None:
    raw = NASTY[name]
    for escaped in (for_terminal(raw), for_xml(raw), for_json(json.dumps(raw, ensure_ascii=False))):
        assert not FORBIDDEN & set(escaped), escaped
    assert json.loads(for_json(json.dumps(raw, ensure_ascii=False))) == raw
    ET.fromstring(f"<a b='{for_xml(raw)}'>{for_xml(raw)}</a>")


def test_text_keeps_its_lines_and_tabs() -> None:
    assert for_terminal("a\tb\nc") == "a\tb\nc"
    assert for_xml("a\tb\nc\ufffe") == "a\tb\nc\\ufffe"


def test_the_plugins_failure_text_is_escaped(url: str, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest(
        *PLUGIN, f"--conformance-target={url}", "--conformance-select=container.*", "-rs"
    )
    text = result.stdout.str()
    assert "container.route" in text and "\\x1b[2J" in text
    assert not FORBIDDEN & set(text)
