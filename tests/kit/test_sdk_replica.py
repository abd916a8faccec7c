"""The OpenAI Python SDK replica: differential against the real SDK, and the disagreements."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kit.kit_support import awkward_splits
from openai._streaming import SSEDecoder, Stream

from conformance._wire._sdk_replica import SDKDecoder, compare, run_sdk
from conformance._wire._sse import parse_spec

PIECES = [
    b"data: ", b"data:", b"event: ping", b"event: thread.x", b"id: 1", b"id", b"retry: 30",
    b"retry: x", b": keep", b"\n", b"\n", b"\r", b"\r\n", b"{}", b'{"a":1}', b'{"error":{"message":"m"}}',
    b'{"error":null}', b"[DONE]", b"x", b"\xc3\xa9", b"\xef\xbb\xbf", b"[1]",
    b'event: thread.x\ndata: {"error":{"message":"m"}}\n\n', b'data: {"error":{"message":"m"}}\n\n',
]  # fmt: skip
CLIENT = openai.OpenAI(api_key="unused", base_url="http://x", max_retries=0)
streams = st.lists(st.sampled_from(PIECES), max_size=25).map(b"".join)


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a] or [b""]


def real_events(chunks: list[bytes]) -> Any:
    try:
        return [(s.event, s.data, s.id, s.retry) for s in SSEDecoder().iter_bytes(iter(chunks))]
    except UnicodeDecodeError:
        return "UnicodeDecodeError"


def replica_events(chunks: list[bytes]) -> Any:
    try:
        return [(s.event, s.data, s.id, s.retry) for s in SDKDecoder().iter_bytes(chunks)]
    except UnicodeDecodeError:
        return "UnicodeDecodeError"


def real_stream(chunks: list[bytes]) -> tuple[list[Any], str | None]:
    response = httpx.Response(200, content=iter(chunks), request=httpx.Request("POST", "http://x"))
    items: list[Any] = []
    try:
        for item in Stream(cast_to=object, response=response, client=CLIENT):
            items.append(item)
    except openai.APIError:
        return items, "APIError"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return items, type(exc).__name__
    return items, None


@settings(max_examples=300, deadline=None)
@given(streams, st.lists(st.integers(min_value=0, max_value=200), max_size=4))
def test_decoder_matches_the_real_sdk(stream: bytes, cuts: list[int]) -> None:
    chunks = cut(stream, cuts)
    assert replica_events(chunks) == real_events(chunks)


@settings(max_examples=300, deadline=None)
@given(streams, st.lists(st.integers(min_value=0, max_value=200), max_size=4))
def test_stream_loop_matches_the_real_sdk(stream: bytes, cuts: list[int]) -> None:
    chunks = cut(stream, cuts)
    result = run_sdk(chunks)
    assert (result.chunks, result.error_type) == real_stream(chunks)


DISAGREEMENTS = {
    "event: ping": b"event: ping\n\n",
    "retry": b"retry: 3000\n\n",
    "id": b"id: 1\n\n",
}


@pytest.mark.parametrize("frame", DISAGREEMENTS.values(), ids=list(DISAGREEMENTS))
def test_dataless_frames_are_spec_valid_but_break_the_sdk(frame: bytes) -> None:
    stream = b'data: {"a":1}\n\n' + frame + b'data: {"b":2}\n\ndata: [DONE]\n\n'
    for chunks in awkward_splits(stream):
        parse, sdk = parse_spec(chunks), run_sdk(chunks)
        assert [e.data for e in parse.events] == ['{"a":1}', '{"b":2}', "[DONE]"]
        assert sdk.error_type == "JSONDecodeError" and sdk.chunks == [{"a": 1}]
        verdict = compare(parse, sdk)
        assert verdict is not None
        assert verdict.startswith("spec-valid, but the OpenAI Python SDK fails on it")


def test_comment_ping_is_harmless_to_the_python_sdk_until_an_id_was_seen() -> None:
    stream = b'data: {"a":1}\n\n: ping\n\ndata: [DONE]\n\n'
    parse, sdk = parse_spec([stream]), run_sdk([stream])
    assert sdk.ok and sdk.stopped_at_done and compare(parse, sdk) is None
    assert parse.facts.dataless_blocks == [b": ping\n\n"]  # sse.no_dataless_events still flags it
    with_id = b'id: 7\ndata: {"a":1}\n\n: ping\n\ndata: [DONE]\n\n'
    assert run_sdk([with_id]).error_type == "JSONDecodeError"


def test_leading_bom_makes_the_sdk_drop_the_first_event() -> None:
    stream = b'\xef\xbb\xbfdata: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    verdict = compare(parse_spec([stream]), run_sdk([stream]))
    assert verdict is not None and "spec-valid, but the OpenAI Python SDK fails on it" in verdict


def test_the_reverse_disagreement_is_named() -> None:
    # "[DONE]x" stops the SDK (startswith), but to a spec parser it is a non-JSON event.
    stream = b'data: {"a":1}\n\ndata: [DONE]x\n\n'
    verdict = compare(parse_spec([stream]), run_sdk([stream]))
    assert verdict is not None and verdict.startswith("the OpenAI Python SDK accepts it, but")


def test_error_frames_raise_apierror_with_the_message() -> None:
    result = run_sdk([b'data: {"a":1}\n\ndata: {"error":{"message":"boom"}}\n\n'])
    assert (result.error_type, result.error, result.chunks) == ("APIError", "boom", [{"a": 1}])
    assert (
        run_sdk([b'data: {"error":{"code":1}}\n\n']).error == "An error occurred during streaming"
    )
    assert run_sdk([b'data: {"error":{}}\n\n']).ok  # an empty error object is falsy
    assert run_sdk([b'data: {"error":null}\n\n']).ok  # falsy error is yielded as a chunk


def test_thread_events_are_wrapped_and_never_raise() -> None:
    stream = b'event: thread.run\ndata: {"error":{"message":"m"}}\n\ndata: [DONE]\n\n'
    result = run_sdk([stream])
    assert result.ok and result.chunks == [
        {"data": {"error": {"message": "m"}}, "event": "thread.run"}
    ]
    assert (result.chunks, None) == real_stream([stream])


def test_unterminated_last_event_is_dropped_and_no_done_is_tolerated() -> None:
    result = run_sdk([b'data: {"a":1}\n\ndata: {"b":2}'])
    assert result.ok and result.chunks == [{"a": 1}] and not result.stopped_at_done
