"""The HTML report in a real headless Chromium: it renders, has a row per check and a timeline
per streamed answer, and a hostile container's bytes in it are text, never markup or script."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

import conformance
from conformance._doors._cli import main
from conformance._engine._escape import for_html
from conformance._engine._reporters import write_html
from conformance._wire._serve import serve_app
from conformance._wire._target import Target

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium: apt-get install chromium (listed in .ci/debian-packages)",
)
# Flags that work in a container without a display, a sandbox or the network.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
# A script that would mark the page if it ran, in a <script> and in an event handler.
PWN = "document.body.setAttribute('data-pwned','yes')"
HOSTILE = f'<script>{PWN}</script><img src=x onerror="{PWN}">\x00\x1b]0;title\x07'


def chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def dom(page: Path, tmp_path: Path) -> str:
    """The document after Chromium loaded it and ran whatever scripts it allows."""
    return chromium(page, tmp_path, "--dump-dom").stdout


def screenshot(page: Path, tmp_path: Path) -> Path:
    png = tmp_path / "report.png"
    chromium(page, tmp_path, f"--screenshot={png}", "--window-size=1200,1600")
    return png


def distinct_bytes(png: Path) -> int:
    """Distinct byte values of the decoded image rows: a blank page has a handful."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


def written(report: conformance.Report, tmp_path: Path) -> Path:
    out = io.StringIO()
    write_html(report, out)
    page = tmp_path / "report.html"
    page.write_text(out.getvalue(), encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def report(reference_mock: Target) -> conformance.Report:
    return conformance.run(reference_mock, select=["sse.*", "chunk.*", "chat.schema"])


def test_the_page_renders_a_row_per_check_and_a_timeline_per_stream(
    report: conformance.Report, tmp_path: Path
) -> None:
    document = dom(written(report, tmp_path), tmp_path)
    assert document.count('<tr class="check ') == len(report.results) > 20
    assert 'id="verdict"' in document and "exit 0: no MUST check failed" in document
    assert report.streams
    assert document.count('<svg class="timeline"') == len(report.streams)
    assert document.count('class="event"') >= len(report.streams)


def test_a_buffered_answer_is_marked_and_a_streamed_one_is_not(
    report: conformance.Report, tmp_path: Path
) -> None:
    assert 'class="stream buffered"' not in written(report, tmp_path).read_text()
    chunk = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    chunk += b'"choices":[{"index":0,"delta":{"content":"OK"},"finish_reason":null}]}\n\n'

    async def buffered(request: Request) -> Response:
        return Response(chunk * 5 + b"data: [DONE]\n\n", media_type="text/event-stream")

    app = Starlette(routes=[Route("/{path:path}", buffered, methods=["GET", "POST"])])
    with serve_app(app) as base:
        rep = conformance.run(base, select="sse.done")
    document = dom(written(rep, tmp_path), tmp_path)
    assert 'class="stream buffered"' in document
    assert "buffered: every event arrived in one read" in document


def test_the_screenshot_is_not_blank(report: conformance.Report, tmp_path: Path) -> None:
    png = screenshot(written(report, tmp_path), tmp_path)
    assert distinct_bytes(png) > 50  # text, tables and timelines; a blank page gives < 10


def test_the_page_fetches_nothing(report: conformance.Report, tmp_path: Path) -> None:
    text = written(report, tmp_path).read_text(encoding="utf-8")
    assert "<link" not in text and "<script" not in text and "src=" not in text
    assert "Content-Security-Policy" in text


async def hostile_stream(request: Request) -> Response:
    body = await request.body()
    if b'"stream":true' not in body.replace(b" ", b""):
        return Response('{"error": {"message": "' + HOSTILE.replace('"', "'") + '"}}', 400)

    async def events() -> AsyncIterator[bytes]:
        yield f"data: {HOSTILE}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", hostile_stream, methods=["GET", "POST"])])
    with serve_app(app) as base:
        yield base


def test_a_control_page_shows_that_a_script_would_be_caught(tmp_path: Path) -> None:
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><body><script>{PWN}</script></body></html>")
    assert 'data-pwned="yes"' in dom(page, tmp_path)  # so its absence below means something


def test_a_hostile_containers_bytes_are_text_not_markup(hostile_url: str, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    args = ["--target", hostile_url, "--select", "sse.*", "--clients", "none"]
    assert main([*args, "--format", "html", "--output", str(page), "--budget", "60"]) == 1
    raw = page.read_text(encoding="utf-8")
    assert "\x00" not in raw and "\x1b" not in raw
    document = dom(page, tmp_path)
    assert 'data-pwned="yes"' not in document
    assert "<script" not in document and "<img" not in document
    assert "&lt;script&gt;" in document and "\\x00" in document and "\\x1b]0;title" in document
    assert '<svg class="timeline"' in document
    assert distinct_bytes(screenshot(page, tmp_path)) > 50


def test_for_html_leaves_no_markup() -> None:
    escaped = for_html(HOSTILE)
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped
    assert "\x00" not in escaped and "\\x00" in escaped
