"""The recorder and the replay server, against small real servers on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance._capture import RECAPTURE, Recorder, Replay, read_exchanges, write_exchanges
from conformance._capture._format import EXCHANGES_FILE, Exchange, body_digest
from conformance._capture._replay import MISS_STATUS, serve_replay
from conformance._wire._serve import serve_app

TICK = 0.05  # seconds between the upstream's stream chunks


async def _stream(request: StarletteRequest) -> Response:
    body = await request.json()
    if body.get("break"):

        async def broken() -> AsyncIterator[bytes]:
            yield b'data: {"n": 0}\n\n'
            raise RuntimeError("the upstream dies mid-stream")

        return StreamingResponse(broken(), media_type="text/event-stream")

    async def events() -> AsyncIterator[bytes]:
        for n in range(3):
            await asyncio.sleep(TICK)
            yield f'data: {{"n": {n}, "accept": "{request.headers.get("accept")}"}}\n\n'.encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"x-up": "1"})


async def _chat(request: StarletteRequest) -> Response:
    raw = await request.body()
    if request.headers.get("content-type") != "application/json":
        return JSONResponse({"error": {"message": "want JSON"}}, status_code=415)
    return JSONResponse({"size": len(raw), "accept": request.headers.get("accept")})


async def _hang(request: StarletteRequest) -> Response:
    await asyncio.sleep(30)
    return Response(b"too late")


UPSTREAM = Starlette(
    routes=[
        Route("/stream", _stream, methods=["POST"]),
        Route("/chat", _chat, methods=["POST"]),
        Route("/hang", _hang, methods=["POST"]),
    ]
)


@contextmanager
def recorded(tmp_path: Path) -> Iterator[tuple[httpx.Client, Recorder]]:
    """A client talking to the upstream through a recorder; the capture is written at exit."""
    recorder = Recorder("http://unused.invalid")
    with serve_app(UPSTREAM) as upstream:
        recorder.upstream = upstream
        with serve_app(recorder) as url, httpx.Client(base_url=url, timeout=10) as client:
            yield client, recorder
    write_exchanges(tmp_path / EXCHANGES_FILE, recorder.take())


def _post(client: httpx.Client, path: str, body: object, **headers: str) -> httpx.Response:
    return client.post(path, content=json.dumps(body), headers=headers)


def test_a_recorded_stream_keeps_its_bytes_headers_and_timing(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        sent = _post(client, "/stream", {"a": 1}, authorization="Bearer secret-token-1234")
    [exchange] = list(read_exchanges(tmp_path / EXCHANGES_FILE))
    assert exchange.request.headers["authorization"] == "<redacted>"
    assert "secret-token-1234" not in (tmp_path / EXCHANGES_FILE).read_text()
    response = exchange.response
    assert response.status == 200
    assert ("x-up", "1") in response.headers
    assert b"".join(c for _, c in response.chunks) == sent.content
    times = [t for t, _ in response.chunks]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 2 * TICK * 0.8  # the chunks were timed as they arrived


def test_a_large_body_is_stored_as_a_digest_and_a_preview(tmp_path: Path) -> None:
    body = {"filler": "lorem " * 40_000}
    with recorded(tmp_path) as (client, _):
        assert _post(client, "/chat", body, **{"content-type": "application/json"}).json()["size"]
    [exchange] = list(read_exchanges(tmp_path / EXCHANGES_FILE))
    assert exchange.request.body is None
    assert exchange.request.digest == body_digest(json.dumps(body).encode())
    assert exchange.request.preview.startswith(b'{"filler": "lorem')
    assert (tmp_path / EXCHANGES_FILE).stat().st_size < 10_000


def test_replay_answers_as_recorded_whatever_the_ignored_headers(tmp_path: Path) -> None:
    body = {"model": "", "stream": True}
    with recorded(tmp_path) as (client, _):
        original = _post(client, "/stream", body, **{"user-agent": "OpenAI/Python 1.0"})
    with serve_replay(tmp_path) as (url, replay), httpx.Client(base_url=url) as client:
        # Same JSON in another key order and spacing, with other client headers.
        again = client.post(
            "/stream",
            content=b'{"stream": true,   "model": ""}',
            headers={"user-agent": "OpenAI/Python 9.9", "x-stainless-retry-count": "3"},
        )
    assert replay.misses == []
    assert again.status_code == 200
    assert again.headers["content-type"] == original.headers["content-type"]
    assert again.content == original.content


def test_replay_paces_the_stream_as_recorded(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        _post(client, "/stream", {"paced": True})
    with serve_replay(tmp_path) as (url, _), httpx.Client(base_url=url) as client:
        arrivals = []
        start = time.perf_counter()
        with client.stream("POST", "/stream", content=json.dumps({"paced": True})) as response:
            for _ in response.iter_raw():
                arrivals.append(time.perf_counter() - start)
    assert arrivals[-1] - arrivals[0] >= 2 * TICK * 0.8


def test_a_request_the_capture_never_saw_fails_loudly(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        _post(client, "/stream", {"a": 1})
    with serve_replay(tmp_path) as (url, replay), httpx.Client(base_url=url) as client:
        missed = _post(client, "/stream", {"a": 2})
    assert missed.status_code == MISS_STATUS
    assert RECAPTURE in missed.json()["error"]["message"]
    [miss] = replay.misses
    assert "POST /stream" in miss and RECAPTURE in miss


def test_a_missing_capture_folder_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make engines"):
        Replay.from_dir(tmp_path / "nowhere")


def test_headers_choose_between_answers_to_the_same_body(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        for accept in ("application/json", "text/event-stream"):
            _post(client, "/stream", {"same": 1}, accept=accept)
    with serve_replay(tmp_path) as (url, _), httpx.Client(base_url=url) as client:
        for accept in ("text/event-stream", "application/json"):
            body = _post(client, "/stream", {"same": 1}, accept=accept).text
            assert f'"accept": "{accept}"' in body


def test_repeated_requests_get_the_recorded_answers_in_turn() -> None:
    exchanges = []
    for n in range(3):
        line = {
            "run": "direct",
            "request": {"method": "GET", "path": "/ping", "headers": {}, "digest": body_digest(b"")}
            | {"size": 0, "body": {"text": ""}},
            "response": {"status": 200 + n, "headers": [], "head_at": 0, "chunks": [], "end": 0}
            | {"ended": "complete"},
        }
        exchanges.append(Exchange.from_json(json.dumps(line)))
    replay = Replay(exchanges)
    statuses = [replay.match("GET", "/ping", {}, b"").response.status for _ in range(4)]
    assert statuses == [200, 201, 202, 200]


def test_a_stream_the_container_broke_is_broken_again_in_replay(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _), pytest.raises(httpx.RemoteProtocolError):
        _post(client, "/stream", {"break": True})
    [exchange] = list(read_exchanges(tmp_path / EXCHANGES_FILE))
    assert exchange.response.ended == "upstream_error"
    with (
        serve_replay(tmp_path) as (url, _),
        httpx.Client(base_url=url) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        _post(client, "/stream", {"break": True})


def test_a_request_the_client_gave_up_on_hangs_again_in_replay(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _), pytest.raises(httpx.ReadTimeout):
        client.post("/hang", content=b"{}", timeout=0.3)
    [exchange] = list(read_exchanges(tmp_path / EXCHANGES_FILE))
    assert exchange.response.ended == "client_gone"
    assert exchange.response.end >= 0.25
    with (
        serve_replay(tmp_path) as (url, _),
        httpx.Client(base_url=url) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post("/hang", content=b"{}", timeout=1.0)


def test_an_error_answer_is_replayed_with_its_status_and_body(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        original = _post(client, "/chat", {"x": 1}, **{"content-type": "text/plain"})
    assert original.status_code == 415
    with serve_replay(tmp_path) as (url, _), httpx.Client(base_url=url) as client:
        again = _post(client, "/chat", {"x": 1}, **{"content-type": "text/plain"})
    assert (again.status_code, again.content) == (415, original.content)


def test_a_replay_of_one_run_answers_with_that_runs_answers(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, recorder):
        recorder.run = "direct"
        _post(client, "/chat", {"x": 1}, **{"content-type": "application/json"})
        recorder.run = "mock"
        _post(client, "/chat", {"x": 1}, **{"content-type": "text/plain"})
    for run, status in (("direct", 200), ("mock", 415)):
        with serve_replay(tmp_path, run=run) as (url, _), httpx.Client(base_url=url) as client:
            # The same request, headers and all: only the run tells the two answers apart.
            assert _post(client, "/chat", {"x": 1}).status_code == status
    with pytest.raises(LookupError, match="make engines"):
        Replay.from_dir(tmp_path, run="live")


def test_the_longest_answer_is_the_slowest_replay_before_a_hang(tmp_path: Path) -> None:
    with recorded(tmp_path) as (client, _):
        _post(client, "/stream", {"paced": True})
        with pytest.raises(httpx.ReadTimeout):
            client.post("/hang", content=b"{}", timeout=0.3)
    stream, hang = read_exchanges(tmp_path / EXCHANGES_FILE)
    assert hang.response.ended == "client_gone"
    # The hang adds nothing: a replay plays no part of it, it only waits for the client.
    assert Replay([hang]).longest_answer() == 0.0
    whole = Replay([stream]).longest_answer()
    assert whole == pytest.approx(stream.response.end)
    capped = Replay([stream, hang], max_wait=0.01).longest_answer()
    assert capped <= 0.01 * (len(stream.response.chunks) + 2) < whole
