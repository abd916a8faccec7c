"""``--repeat N``: each check keeps its worst verdict, and the verdicts that flip are reported,
with counts, in every format, from the command line and from ``conformance.run()``."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import conformance
from conformance._doors._cli import main
from conformance._engine._registry import Outcome, Severity
from conformance._engine._repeat import combine
from conformance._engine._report import Report, Result, Stop
from conformance._engine._reporters import REPORTERS
from conformance._wire._serve import serve_app
from conformance._wire._target import Target

CHUNK = {
    "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "OK"},
                 "finish_reason": "stop"}],
}  # fmt: skip


def report(*results: Result, stopped: Stop | None = None, requests: int = 2) -> Report:
    return Report("http://c", "direct", results, 1.0, requests, stopped=stopped)


def verdict(check_id: str, outcome: Outcome, message: str = "") -> Result:
    return Result(check_id, Severity.MUST, outcome, message, docs="d", fix="f")


def test_one_run_is_left_as_it_is() -> None:
    one = report(verdict("a", Outcome.PASSED))
    assert combine([one]) is one


def test_a_check_keeps_its_worst_verdict_and_the_flips_are_counted() -> None:
    runs = [
        report(verdict("a", Outcome.PASSED), verdict("b", Outcome.PASSED)),
        report(verdict("a", Outcome.FAILED, "second"), verdict("b", Outcome.PASSED)),
        report(verdict("a", Outcome.FAILED, "third"), verdict("b", Outcome.PASSED)),
    ]
    merged = combine(runs)
    assert merged.runs == 3 and merged.requests == 6 and merged.duration == 3.0
    assert [(r.id, r.outcome, r.message) for r in merged.results] == [
        ("a", Outcome.FAILED, "second"),  # the first broken run, with its evidence
        ("b", Outcome.PASSED, ""),
    ]
    assert [(f.id, f.outcomes) for f in merged.flaky] == [("a", {"passed": 1, "failed": 2})]
    assert merged.exit_code == 1


def test_checks_a_stopped_run_never_reached_are_no_verdict() -> None:
    stop = Stop("budget", "the 5 s budget ran out", "a")
    runs = [
        report(verdict("a", Outcome.PASSED), verdict("b", Outcome.PASSED)),
        report(
            verdict("a", Outcome.PASSED),
            verdict("b", Outcome.SKIPPED, "not run: the 5 s budget ran out after a"),
            stopped=stop,
        ),
    ]
    merged = combine(runs)
    assert merged.flaky == () and merged.stopped == stop
    assert [r.outcome for r in merged.results] == [Outcome.PASSED, Outcome.PASSED]


FLAKY = combine(
    [
        report(verdict("sse.done", Outcome.PASSED), verdict("chunk.n", Outcome.PASSED)),
        report(
            verdict("sse.done", Outcome.FAILED, "no [DONE]"), verdict("chunk.n", Outcome.PASSED)
        ),
    ]
)


def render(fmt: str, rep: Report = FLAKY) -> str:
    out = io.StringIO()
    REPORTERS[fmt](rep, out)
    return out.getvalue()


def test_every_format_names_the_flaky_checks_with_counts() -> None:
    assert json.loads(render("json"))["repeat"] == {
        "runs": 2,
        "flaky": [{"id": "sse.done", "outcomes": {"passed": 1, "failed": 1}}],
    }
    text = render("text")
    assert "flaky: 1 verdict changed over 2 runs" in text and "sse.done: 1 passed, 1 failed" in text
    root = ET.fromstring(render("junit"))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["runs"] == "2"
    flaky = {c.get("name"): c.get("flaky") for c in root.iter("testcase")}
    assert flaky == {"sse.done": "1 passed, 1 failed", "chunk.n": None}
    page = render("html")
    assert 'id="flaky"' in page and "(flaky: 1 passed, 1 failed)" in page


def test_a_single_run_says_so() -> None:
    single = report(verdict("a", Outcome.PASSED))
    assert json.loads(render("json", single))["repeat"] == {"runs": 1, "flaky": []}
    assert "flaky" not in render("text", single) and 'id="flaky"' not in render("html", single)


class FirstStreamOnly:
    """Ends only its first stream with ``[DONE]``: a verdict that flips between runs."""

    def __init__(self) -> None:
        self.streams = 0

    async def answer(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            return JSONResponse({**CHUNK, "object": "chat.completion"}, status_code=400)
        self.streams += 1
        done = self.streams == 1

        async def events() -> AsyncIterator[bytes]:
            yield f"data: {json.dumps(CHUNK)}\n\n".encode()
            if done:
                yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture
def flaky_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", FirstStreamOnly().answer, methods=["POST"])])
    with serve_app(app) as base:
        yield base


def test_the_cli_repeats_with_fresh_requests(
    flaky_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.json"
    args = ["--target", flaky_url, "--select", "sse.done", "--clients", "none", "--strict"]
    assert main([*args, "--repeat", "3", "--format", "json", "--output", str(output)]) == 1
    data = json.loads(output.read_text())
    assert data["repeat"] == {
        "runs": 3,
        "flaky": [{"id": "sse.done", "outcomes": {"passed": 1, "failed": 2}}],
    }
    assert [r["outcome"] for r in data["results"]] == ["failed"]
    err = capsys.readouterr().err
    assert "running 1 check 3 times" in err and "[3/3]" in err and "budget 540 s" in err


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_the_cli_refuses_a_bad_count(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repeat", value, "--clients", "none"]) == 2
    assert "--repeat" in capsys.readouterr().err


def test_the_library_repeats(reference_mock: Target) -> None:
    rep = conformance.run(reference_mock, select="chunk.role_first", repeat=2)
    assert (rep.runs, rep.flaky, rep.exit_code) == (2, (), 0)
    with pytest.raises(ValueError, match="repeat"):
        conformance.run(reference_mock, select="chunk.role_first", repeat=0)
