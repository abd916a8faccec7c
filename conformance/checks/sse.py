"""SSE framing of `stream: true` answers, judged by the WHATWG parser and the SDK replica."""

from __future__ import annotations

import json
import re
from typing import Final

from .._engine._context import CheckContext
from .._engine._registry import CheckSkipped, check
from .._wire._exchange import Exchange
from .._wire._sdk_replica import compare
from ._prompts import UNICODE_PROMPT, long_body, user

MIN_READS: Final = 3  # SM-08: at least 3 distinct read times, i.e. not buffered to the end
# A buffered body can still arrive in a few TCP reads, but those land within a millisecond:
# require the events of a 64-token generation to spread over some real time.
MIN_SPREAD: Final = 0.010
# A burst alone proves nothing: a fast container generates 64 tokens within a millisecond.
# Buffering is shown when a long answer's first event comes this much later than a 1-token
# answer's (the events were held back while the rest was generated), twice in a row.
MIN_HELD: Final = 0.025
# Generous: a prompt close follows [DONE] within milliseconds, even on a loaded machine.
CLOSE_WITHIN_S: Final = 2.0
_FIELD_LINE: Final = re.compile(rb"(?m)^(event|id|retry):")


def _stream_ok(ctx: CheckContext, ex: Exchange | None = None) -> Exchange:
    ex = ex or ctx.stream()
    return ctx.expect_ok(ex, "the streaming request")


@check("sse.content_type", "SHOULD", layer="spec")
def stream_content_type(ctx: CheckContext) -> None:
    """A `stream: true` answer is 200 with `Content-Type: text/event-stream`.

    Why: the SSE specification and OpenAI send `text/event-stream`. No client of the matrix
    checks it: each read an SSE stream sent as `application/json` (tests/clients/
    test_evidence.py, fault `wrong_content_type`); browsers' `EventSource` and proxies that
    buffer by media type do.

    Fix: answer `stream: true` with a 200 and `Content-Type: text/event-stream`, and keep
    request errors as 4xx JSON answers sent before any stream starts.
    """
    ex = ctx.stream()
    if ex.status != 200:
        ctx.expect_baseline(stream=False)  # if nothing works, container.route owns it
        raise ex.failure(f"the streaming request got {ex.describe()}")
    if ex.content_type != "text/event-stream":
        raise ex.failure(
            f"Content-Type is {ex.headers.get('content-type')!r}; the SSE specification "
            "wants text/event-stream",
            ex.body[:200],
        )


@check("sse.accept_json", "MUST", requests=2)
def streams_despite_accept_json(ctx: CheckContext) -> None:
    """It streams even with `Accept: application/json`, which the OpenAI SDK sends.

    Why: openai-python sends `Accept: application/json` on every request, streams included;
    a server that negotiates on Accept answers the SDK's streaming calls with one JSON body.

    Fix: decide whether to stream from the body's `stream` field alone, never from Accept.
    """
    for accept in ("application/json", "text/event-stream"):
        ex = ctx.stream(headers={"Accept": accept})
        _stream_ok(ctx, ex)
        if not ex.spec.events and not ex.is_jsonlines:
            raise ex.failure(
                f"with Accept: {accept} and stream: true the answer is not an SSE "
                "stream; ignore Accept and stream whenever stream is true",
                ex.body[:300],
            )


def _framing_problem(ex: Exchange) -> tuple[str, bytes] | None:
    head = ex.body[:300]
    if ex.is_jsonlines:
        return (
            "the stream is LMI-style JSON lines, not SSE: the OpenAI SDK reads no events "
            "from it; emit 'data: <json>\\n\\n' events",
            head,
        )
    if not ex.spec.events:
        return "the stream carried no SSE events", head
    for event in ex.spec.events:
        if event.data == "[DONE]":
            continue
        try:
            payload = json.loads(event.data)
        except ValueError:
            return f"an event's data is not JSON: {event.data[:80]!r}", event.raw
        if not isinstance(payload, dict):
            return "an event's data is JSON but not an object", event.raw
    disagreement = compare(ex.spec, ex.sdk)
    if disagreement:
        return disagreement, (ex.spec.facts.dataless_blocks or [head])[0]
    if not ex.sdk.ok and ex.sdk.error_type != "APIError":
        return f"the OpenAI Python SDK fails on it: {ex.sdk.error_type}: {ex.sdk.error}", head
    return None


@check("sse.framing", "MUST", requests=2)
def events_are_json(ctx: CheckContext) -> str | None:
    """Every event is one JSON object on `data:`, and both parsers read it alike.

    Why: clients parse each event's data as one JSON chunk; JSON lines, non-JSON data or
    framing that the OpenAI SDK's decoder splits differently from the SSE spec break them.

    Fix: write each chunk as `data: <one-line JSON>` followed by a blank line (`\\n\\n`), and
    end with `data: [DONE]`; nothing else on the wire.
    """
    for ex in (_stream_ok(ctx), ctx.stream(long_body(ctx))):
        if ex.status != 200:
            continue
        problem = _framing_problem(ex)
        if problem:
            raise ex.failure(problem[0], problem[1])
    multi = [e for e in ctx.stream().spec.events if "\n" in e.data]
    return "some events split data over several data: lines (valid, but unusual)" if multi else None


@check("sse.stream_ends", "MUST")
def stream_ends(ctx: CheckContext) -> str | None:
    """The stream ends: the container closes the response after its last event.

    Why: openai-node and the Vercel AI SDK read until the server closes the response, past
    `data: [DONE]`: a container that sends `[DONE]` and holds the connection open hangs them
    until it closes it (tests/clients/test_evidence.py, fault `done_then_hold`).

    A response that closes more than 2 s after `[DONE]` fails too: those clients wait for it.

    Fix: close the response (end the chunked body) right after `data: [DONE]\\n\\n`; do not
    keep a streaming response open for keep-alives.
    """
    ex = ctx.stream()
    if ex.status == 200 and ex.cut is not None:
        done = any(e.data == "[DONE]" for e in ex.spec.events)
        after = "after 'data: [DONE]'" if done else "and sent no 'data: [DONE]'"
        raise ex.failure(
            f"the default stream did not end: {ex.cut} ({len(ex.spec.events)} events seen), "
            f"{after}; a 16-token answer must end and close the response"
        )
    _stream_ok(ctx, ex)
    held = _held_after_done(ex)
    if held is not None and held > CLOSE_WITHIN_S:
        raise ex.failure(
            f"the response closed {held:.1f} s after 'data: [DONE]'; openai-node and the "
            "Vercel AI SDK wait for the close, so every stream takes that much longer"
        )
    return None


def _held_after_done(ex: Exchange) -> float | None:
    """Seconds from the read that completed `data: [DONE]` to the end of the response."""
    seen = b""
    for at, chunk in ex.chunks:
        seen = seen[-16:] + chunk
        if b"data: [DONE]" in seen:
            return ex.elapsed - at
    return None


@check("sse.done", "SHOULD", layer="spec", after="sse.stream_ends")
def ends_with_done(ctx: CheckContext) -> None:
    """Exactly one `data: [DONE]`, as the last event, with nothing after it.

    Why: the OpenAI stream format ends with `data: [DONE]`. No client of the matrix needs
    it: each one returned the whole answer from a stream that closed without it
    (tests/clients/test_evidence.py, fault `no_done`; transformers serve 5.23 sends none).
    What clients need is that the stream ends: `sse.stream_ends`.

    Fix: after the last chunk (and the usage chunk, if asked for) send `data: [DONE]\\n\\n` once
    and close the response.
    """
    ex = ctx.stream()
    _stream_ok(ctx, ex)
    ctx.events(ex)  # blocked when the stream is not SSE at all
    events = ex.spec.events
    done = [i for i, e in enumerate(events) if e.data == "[DONE]"]
    facts = ex.spec.facts
    if not done:
        tail = facts.trailing or ex.body[-200:]
        hint = " (an unterminated last event is dropped by every parser)" if facts.trailing else ""
        raise ex.failure(f"the stream ended without 'data: [DONE]'{hint}", tail)
    if len(done) > 1:
        raise ex.failure(f"'data: [DONE]' was sent {len(done)} times", events[done[1]].raw)
    if done[0] != len(events) - 1:
        raise ex.failure("events follow 'data: [DONE]'", events[done[0] + 1].raw)
    after = ex.body[events[-1].end :]
    if after.strip():
        raise ex.failure("bytes follow the final 'data: [DONE]' event", after)


@check("sse.no_dataless_events", "MUST", requests=2)
def no_dataless_events(ctx: CheckContext) -> str | None:
    """No `event:`-, `retry:`-, `id:`- or comment-only frames, and no bare `data:`.

    Why: the OpenAI Python SDK dispatches a frame without data (a keep-alive `event: ping`,
    a lone `retry:`) as an empty event and fails to parse it as JSON, killing the stream.

    Fix: send only `data:` events; put keep-alive comments (`: ping`) inside an event's
    block, or send none (SageMaker does not need keep-alives).
    """
    notes = []
    ctx.events(ctx.stream())  # blocked when the stream is not SSE at all
    for ex in (ctx.stream(), ctx.stream(long_body(ctx))):
        if ex.status != 200:
            continue
        facts = ex.spec.facts
        if facts.dataless_blocks:
            raw = facts.dataless_blocks[0]
            sdk = "the OpenAI Python SDK" if not raw.startswith(b":") else "openai-go"
            raise ex.failure(
                f"a frame without data ({raw[:40]!r}) is dispatched as an empty "
                f"event by {sdk}, which then fails to parse it; send keep-alives "
                "as comments inside data events, or not at all",
                raw,
            )
        empty = [e for e in ex.spec.events if e.data == ""]
        if empty:
            raise ex.failure(
                "a bare 'data:' event has empty data; the SDKs fail to parse it", empty[0].raw
            )
        if facts.extra_blank_lines and facts.fields["id"]:
            raise ex.failure(
                "extra blank lines after an 'id:' field make the OpenAI Python "
                "SDK dispatch empty events",
                ex.body[:300],
            )
        if facts.comments:
            notes.append(f"{facts.comments} comment line(s) inside events (tolerated)")
    return "; ".join(notes) or None


@check("sse.no_named_events", "SHOULD")
def no_named_events(ctx: CheckContext) -> None:
    """Events carry no `event:`, `id:` or `retry:` fields (openai-node and old SDKs).

    Why: openai-node yields named events as `{event, data}` objects instead of chunks, and
    openai-python before 1.97.2 wrapped them likewise, so `chunk.choices` is missing.

    Fix: send plain `data:` events without `event:`, `id:` or `retry:` lines.
    """
    ex = ctx.stream()
    ctx.events(ex)  # blocked when the stream is not SSE at all
    fields = {f: n for f, n in ex.spec.facts.fields.items() if f in ("event", "id", "retry")}
    if fields:
        names = ", ".join(f"{f}: ({n}x)" for f, n in sorted(fields.items()))
        match = _FIELD_LINE.search(ex.body)
        first = ex.body[match.start() : match.start() + 200] if match else ex.body[:200]
        raise ex.failure(
            f"the stream uses {names}; openai-node yields named events as "
            "{event, data} and openai-python < 1.97.2 breaks on them",
            first,
        )


def _burst(ex: Exchange) -> tuple[bool, list[float], float]:
    """(all events arrived in one burst, their arrival times, their spread in seconds)."""
    arrivals = ex.event_arrivals()
    distinct = sorted({round(t, 4) for t in arrivals})
    spread = distinct[-1] - distinct[0] if distinct else 0.0
    return len(distinct) < MIN_READS or spread < MIN_SPREAD, arrivals, spread


def judge_incremental(ctx: CheckContext, ex: Exchange) -> str:
    """Pass (a note), fail as buffered with evidence of held-back events, or skip inconclusive."""
    burst, arrivals, spread = _burst(ex)
    if not burst:
        reads = len({round(t, 4) for t in arrivals})
        return (
            f"{len(arrivals)} events over {reads} reads; first after "
            f"{arrivals[0] * 1000:.0f} ms, last after {arrivals[-1] * 1000:.0f} ms"
        )
    body = {**json.loads(ex.request_body), "max_completion_tokens": 1}
    body.pop("stream", None)
    short = ctx.stream(body, path=_path_of(ctx, ex), cache=False)
    again = ctx.stream(long_body(ctx), path=_path_of(ctx, ex), cache=False)
    short_times, again_times = short.event_arrivals(), again.event_arrivals()
    still_burst, _, again_spread = _burst(again)
    if short.status == 200 and again.status == 200 and short_times and again_times:
        if not still_burst:
            return f"a second long stream arrived incrementally ({again_spread * 1000:.0f} ms)"
        held = [arrivals[0] - short_times[0], again_times[0] - short_times[0]]
        if min(held) >= MIN_HELD and max(spread, again_spread) * 4 <= min(held):
            raise ex.failure(
                f"buffered: a 1-token answer's first event came after "
                f"{short_times[0] * 1000:.0f} ms, but the 64-token answer's first event only "
                f"after {arrivals[0] * 1000:.0f} ms and then all {len(arrivals)} events within "
                f"{spread * 1000:.1f} ms (twice): events are held back until the end; flush "
                "each event as it is generated"
            )
    raise CheckSkipped(
        f"inconclusive: {len(arrivals)} events arrived within {spread * 1000:.1f} ms, "
        f"{arrivals[0] * 1000:.0f} ms after the request; the generation is too fast to tell "
        "streaming from buffering (no sign that events were held back)"
    )


def _path_of(ctx: CheckContext, ex: Exchange) -> str | None:
    return None if ex.url == ctx.target.url() else ex.url.removeprefix(ctx.target.base_url)


@check("sse.incremental", "SHOULD", requests=3)
def arrives_incrementally(ctx: CheckContext) -> str:
    """Chunks arrive over time, not in one burst at the end.

    Why: streaming exists to show the first tokens early; a container or proxy that buffers
    the whole answer makes time-to-first-token equal to the full generation time. A burst is
    judged "buffered" only with evidence that events were held back: when a 64-token answer
    is too fast to tell apart from a buffered one, the verdict is inconclusive.

    Fix: flush each SSE event as it is generated (no response buffering or compression
    middleware on the stream; `X-Accel-Buffering: no` behind nginx).
    """
    ex = ctx.stream(long_body(ctx))
    ctx.events(ex, "the long stream")  # blocked when not SSE or cut short by an error frame
    return judge_incremental(ctx, ex)


@check("sse.matches_nonstream", "SHOULD", requests=2, after="chat.schema")
def stream_matches_nonstream(ctx: CheckContext) -> None:
    """Concatenated deltas equal the non-streaming content (emoji and CJK included).

    Why: a stream that splits multi-byte characters, drops the last delta or decodes text
    differently shows users another answer than the same request without streaming.

    Fix: emit deltas from the same detokenizer as the non-streaming path, hold back
    incomplete UTF-8 sequences until they are whole, and flush the last delta before
    `finish_reason`.
    """
    body = ctx.body(messages=user(UNICODE_PROMPT), max_completion_tokens=32)
    single = ctx.expect_ok(ctx.chat(body), "the non-streaming unicode request")
    streamed = ctx.stream(body)
    chunks = ctx.chunks(streamed, "the streaming unicode request")
    text, finish = "", None
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                    text += delta["content"]
                finish = choice.get("finish_reason") or finish
    data = single.json if isinstance(single.json, dict) else {}
    choice0 = (data.get("choices") or [{}])[0]
    expected = (choice0.get("message") or {}).get("content") or ""
    if text != expected:
        raise streamed.failure(f"streamed content {text[:80]!r} != non-stream {expected[:80]!r}")
    if finish != choice0.get("finish_reason"):
        raise streamed.failure(
            f"finish_reason {finish!r} streamed, {choice0.get('finish_reason')!r} non-stream"
        )


@check("sse.jsonlines_detected", "INFO")
def not_jsonlines(ctx: CheckContext) -> None:
    """Names LMI-style JSON lines explicitly when the container streams them.

    Why: LMI/DJL containers stream newline-delimited JSON by default; the route forwards it
    unchanged and OpenAI clients read no events from it.

    Fix: enable the container's OpenAI-compatible output (for LMI, the chat completions
    schema with SSE), so that streams are `data:` events.
    """
    ex = _stream_ok(ctx)
    if ex.is_jsonlines:
        raise ex.failure(
            f"the container streams JSON lines ({ex.content_type}), as LMI does; "
            "the route forwards them unchanged and OpenAI clients cannot read "
            "them: enable OpenAI-compatible SSE output",
            ex.body[:300],
        )
