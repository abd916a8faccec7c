"""The strict WHATWG parser: the spec's own examples, line endings, BOM, and awkward splits."""

from __future__ import annotations

import pytest
from kit.kit_support import awkward_splits

from conformance._wire._sse import SpecParser, looks_like_jsonlines, parse_spec


def datas(stream: bytes) -> list[str]:
    return [e.data for e in parse_spec([stream]).events]


def test_spec_example_multiline_data() -> None:
    assert datas(b"data: YHOO\ndata: +2\ndata: 10\n\n") == ["YHOO\n+2\n10"]


def test_spec_example_comment_ids_and_unterminated_last_block() -> None:
    stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
    parse = parse_spec([stream])
    assert [(e.data, e.last_event_id) for e in parse.events] == [
        ("first event", "1"),
        ("second event", ""),
    ]
    assert parse.facts.trailing == b"data:  third event\n"  # discarded: no blank line after it
    assert parse.facts.comments == 1
    assert parse.facts.dataless_blocks == [b": test stream\n\n"]


def test_spec_example_empty_data_fields() -> None:
    # "The first block fires events with the data set to the empty string ... The middle block
    # fires an event with the data set to a single newline character."
    assert datas(b"data\n\ndata\ndata\n\ndata:") == ["", "\n"]


def test_spec_example_one_space_is_stripped() -> None:
    assert datas(b"data:test\n\ndata: test\n\ndata:  test\n\n") == ["test", "test", " test"]


@pytest.mark.parametrize(("newline", "name"), [(b"\n", "LF"), (b"\r", "CR"), (b"\r\n", "CRLF")])
def test_every_line_terminator(newline: bytes, name: str) -> None:
    stream = b"data: a" + newline + newline + b"data: b" + newline + newline
    parse = parse_spec([stream])
    assert [e.data for e in parse.events] == ["a", "b"]
    assert parse.facts.terminators == {name}
    assert parse.facts.extra_blank_lines == 0


def test_mixed_terminators_are_recorded() -> None:
    facts = parse_spec([b"data: a\r\n\ndata: b\r\r"]).facts
    assert facts.terminators == {"CRLF", "LF", "CR"}


def test_leading_bom_is_stripped_but_an_inner_one_is_not() -> None:
    parse = parse_spec([b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n"])
    assert [e.data for e in parse.events] == ["a"]  # the second line's field is "\ufeffdata"
    assert parse.facts.leading_bom and parse.facts.inner_bom


def test_named_events_ids_and_retry_are_recorded() -> None:
    parse = parse_spec([b"event: delta\nid: 7\nretry: 3000\ndata: {}\n\nretry: 3s\ndata: x\n\n"])
    assert [(e.type, e.last_event_id) for e in parse.events] == [("delta", "7"), ("message", "7")]
    assert parse.facts.fields["retry"] == 2 and parse.facts.bad_retry == ["3s"]
    assert parse.facts.event_types == ["delta"]


def test_id_with_nul_is_ignored() -> None:
    events = parse_spec([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"]).events
    assert [e.last_event_id for e in events] == ["1", "1"]


@pytest.mark.parametrize(
    "frame", [b"event: ping\n\n", b"retry: 3000\n\n", b"id: 1\n\n", b": ping\n\n"]
)
def test_dataless_frames_dispatch_nothing_but_are_recorded(frame: bytes) -> None:
    parse = parse_spec([b'data: {"a":1}\n\n' + frame + b"data: [DONE]\n\n"])
    assert [e.data for e in parse.events] == ['{"a":1}', "[DONE]"]
    assert parse.facts.dataless_blocks == [frame]


def test_extra_blank_lines_are_counted() -> None:
    facts = parse_spec([b"data: a\n\n\n\ndata: b\n\n"]).facts
    assert facts.extra_blank_lines == 2 and not facts.dataless_blocks


def test_raw_blocks_and_offsets() -> None:
    stream = b"data: a\n\n: c\ndata: b\r\n\r\n"
    events = parse_spec([stream]).events
    assert [e.raw for e in events] == [b"data: a\n\n", b": c\ndata: b\r\n\r\n"]
    assert [e.end for e in events] == [9, len(stream)]


def test_end_without_terminator_is_flagged() -> None:
    facts = parse_spec([b"data: a\n\ndata: [DONE]"]).facts
    assert facts.trailing == b"data: [DONE]" and not facts.ends_with_terminator


STREAMS = [
    b'data: {"x": "\xc3\xa9\xf0\x9f\x91\x8b\xe4\xbd\xa0"}\r\n\r\n: keep\r\ndata: [DONE]\r\n\r\n',
    b"\xef\xbb\xbfevent: e\rdata: 1\rdata: 2\r\rid: 9\n\ndata: z\n\n",
    b"data: a\n\n\n\ndata\n\nretry: 5\n\n",
]


@pytest.mark.parametrize("stream", STREAMS)
def test_any_split_gives_the_same_result(stream: bytes) -> None:
    whole = parse_spec([stream])
    for chunks in awkward_splits(stream):
        parse = parse_spec(chunks)
        assert parse.events == whole.events, chunks
        assert parse.facts == whole.facts, chunks


def test_feed_returns_events_as_soon_as_dispatched() -> None:
    parser = SpecParser()
    assert parser.feed(b"data: a\n") == []
    assert [e.data for e in parser.feed(b"\ndata: b\r")] == ["a"]
    # A CR at the end of a chunk may be half of a CRLF: the blank line is only known later.
    assert parser.feed(b"\r") == []
    assert [e.data for e in parser.feed(b"data: c\n\n")] == ["b", "c"]
    assert [e.data for e in parser.close().events] == ["a", "b", "c"]


def test_jsonlines_detection() -> None:
    assert looks_like_jsonlines(b'{"a": 1}\n{"b": 2}\n')
    assert not looks_like_jsonlines(b'data: {"a": 1}\n\ndata: {"b": 2}\n\n')
    assert not looks_like_jsonlines(b'{"a": 1}\n')  # one object is a plain JSON body
    assert not looks_like_jsonlines(b'{"a": 1}\nnot json\n')
