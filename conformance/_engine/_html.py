"""The HTML report: one self-contained page with the verdicts, the client matrix, each failure's
evidence and fix, and a timeline of each streamed answer.

No script, font, image or style sheet is fetched: the styles are inline, the timelines are
inline SVG, and a Content-Security-Policy forbids scripts, so the file can be mailed or kept as
a CI artifact. Every text a container could have shaped passes through ``for_html``.
"""

from __future__ import annotations

from typing import Final, TextIO

from .._version import __version__
from ._escape import for_html
from ._matrix import ClientResult
from ._registry import Outcome
from ._report import Report, Result, Timeline
from ._reporters import count, format_evidence, how_to_fix, verdict

_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#222}
h1{font-size:1.4em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;text-align:left;
vertical-align:top;border-bottom:1px solid #eee}th{background:#f6f6f6}
code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#f7f7f7;padding:.6em;
overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.passed .o,.READY .o{color:#1a7f37}.failed .o,.errored .o,.NOT_READY .o{color:#cf222e;
font-weight:600}.skipped .o{color:#777}.verdict{font-weight:600;padding:.5em;border-radius:4px}
.exit-0{background:#dafbe1}.exit-1{background:#ffebe9}.exit-3,.exit-2{background:#fff8c5}
.counts span{margin-right:1.2em}.failure{border-left:4px solid #cf222e;padding-left:1em;
margin:1em 0}.fix{background:#ddf4ff;padding:.4em}figure{margin:1em 0}figcaption{color:#444}
.buffered figcaption b{color:#cf222e}.muted{color:#777}
"""
_WIDTH: Final = 720
_HEIGHT: Final = 58
_LEFT: Final = 10
_RIGHT: Final = 60  # room for the total time at the right end
_BASE: Final = 32  # the time axis' y


def _e(text: object) -> str:
    return for_html(str(text))


def write_page(report: Report, out: TextIO) -> None:
    """Write ``report`` as one HTML page."""
    parts = [_head(report), _checks(report)]
    if report.runs > 1:
        parts.append(_flaky(report))
    if report.clients:
        parts.append(_matrix(report.clients))
    broken = [r for r in report.results if r.broken]
    if broken:
        parts.append('<section id="failures"><h2>Failures</h2>')
        parts += [_failure(r) for r in broken]
        parts.append("</section>")
    if report.streams:
        parts.append(_streams(report.streams))
    parts.append("</body></html>\n")
    out.write("\n".join(parts))


def _head(report: Report) -> str:
    counts = report.summary
    spans = "".join(
        f'<span class="{o.value}"><b class="o">{counts[o.value]}</b> {o.value}</span>'
        for o in Outcome
    )
    runs = f" · {report.runs} runs" if report.runs > 1 else ""
    stopped = (
        f'<p class="stopped">stopped early: {_e(report.stopped.message)}</p>'
        if report.stopped
        else ""
    )
    not_applicable = (
        f'<p class="muted">not applicable in {_e(report.mode)} mode: '
        f"{_e(', '.join(report.not_applicable))}</p>"
        if report.not_applicable
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>Conformance: {_e(report.target)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>sagemaker-openai-conformance {_e(__version__)}</h1>"
        f'<p class="target"><code>{_e(report.target)}</code> ({_e(report.mode)} mode) · '
        f"started {_e(report.started_at)} · {report.duration:.1f} s · "
        f"{report.requests} requests{runs}</p>"
        f'<p class="verdict exit-{report.exit_code}" id="verdict">{_e(verdict(report))}</p>'
        f'<p class="counts">{spans}</p>{stopped}{not_applicable}'
    )


def _checks(report: Report) -> str:
    flips = {f.id: f.describe() for f in report.flaky}
    rows = []
    for r in report.results:
        name = f'<a href="#failure-{_e(r.id)}">{_e(r.id)}</a>' if r.broken else _e(r.id)
        flaky = f' <span class="muted">(flaky: {_e(flips[r.id])})</span>' if r.id in flips else ""
        rows.append(
            f'<tr class="check {r.outcome.value}" data-id="{_e(r.id)}">'
            f"<td><code>{name}</code></td><td>{_e(r.level)}</td>"
            f'<td class="o">{_e(r.outcome.value)}</td><td>{_e(r.message)}{flaky}</td></tr>'
        )
    return (
        '<section id="checks"><h2>Checks</h2><table><thead><tr><th>check</th><th>severity</th>'
        f"<th>outcome</th><th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def _flaky(report: Report) -> str:
    if not report.flaky:
        body = f"<p>No verdict changed over {report.runs} runs.</p>"
    else:
        items = "".join(
            f'<li class="flaky"><code>{_e(f.id)}</code>: {_e(f.describe())}</li>'
            for f in report.flaky
        )
        body = (
            f"<p>{count(len(report.flaky), 'verdict')} changed over {report.runs} runs; each check "
            f"above shows its worst.</p><ul>{items}</ul>"
        )
    return f'<section id="flaky"><h2>Flaky verdicts</h2>{body}</section>'


def _matrix(clients: tuple[ClientResult, ...]) -> str:
    rows = []
    for c in clients:
        steps = " ".join(
            f'<span title="{_e(s.detail)}">{_e(s.name)} {"✓" if s.ok else "✗"}</span>'
            for s in c.steps
        )
        rows.append(
            f'<tr class="client {c.readiness.name}"><td>{_e(c.title)}</td>'
            f"<td>{_e(c.version)}</td><td>{_e(c.runtime)}</td>"
            f'<td class="o">{_e(c.readiness.value)}</td><td>{steps}</td>'
            f"<td>{_e(c.message)}</td></tr>"
        )
    ready = sum(c.ready for c in clients)
    return (
        f'<section id="clients"><h2>Client matrix: {ready} of {len(clients)} ready</h2>'
        "<table><thead><tr><th>client</th><th>version</th><th>runtime</th><th>verdict</th>"
        f"<th>steps</th><th>why</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def _failure(r: Result) -> str:
    evidence = format_evidence(r.evidence)
    pre = f'<pre class="evidence">{_e(evidence)}</pre>' if evidence else ""
    return (
        f'<article class="failure" id="failure-{_e(r.id)}">'
        f"<h3>{_e(r.outcome.value.upper())} <code>{_e(r.id)}</code> ({_e(r.level)})</h3>"
        f'<p>{_e(r.message)}</p><p class="fix">{_e(how_to_fix(r))}</p>{pre}</article>'
    )


def _streams(streams: tuple[Timeline, ...]) -> str:
    figures = "".join(_figure(t) for t in streams)
    return (
        '<section id="streams"><h2>Streamed answers</h2><p class="muted">Each line is one '
        "streamed answer, from the request (left) to its end (right). Dashed: the response "
        "headers; short grey ticks: network reads; tall blue ticks: SSE events (&times;N where "
        "several share a moment). Events spread along the line were streamed; events piled "
        f"up at the right end were buffered.</p>{figures}</section>"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _caption(t: Timeline) -> str:
    n = len(t.events)
    text = f"{count(n, 'event')} in {count(len(t.reads), 'read')} over {_ms(t.elapsed)}"
    if t.events:
        text += f"; first event at {_ms(t.events[0])}, last at {_ms(t.events[-1])}"
    status = "no answer" if t.status is None else f"HTTP {t.status}"
    note = ""
    if t.buffered:
        note = " <b>buffered: every event arrived in one read</b>"
    if t.cut:
        note += f" <b>cut off: {_e(t.cut)}</b>"
    return f"<code>{_e(t.check)}</code> · {status} · {_e(text)}{note}"


def _figure(t: Timeline) -> str:
    span = max([t.elapsed, *t.reads, *t.events, 1e-3])
    scale = (_WIDTH - _LEFT - _RIGHT) / span

    def x(seconds: float) -> int:
        return _LEFT + round(seconds * scale)

    marks = [
        f'<line x1="{_LEFT}" y1="{_BASE}" x2="{_WIDTH - _RIGHT}" y2="{_BASE}" stroke="#999"/>',
        f'<text x="{_LEFT}" y="{_HEIGHT - 4}" font-size="10" fill="#666">0</text>',
        f'<text x="{_WIDTH - _RIGHT + 4}" y="{_BASE + 4}" font-size="11" fill="#444">'
        f"{_ms(span)}</text>",
    ]
    if t.headers_at is not None:
        hx = x(t.headers_at)
        marks.append(
            f'<line class="headers" x1="{hx}" y1="8" x2="{hx}" y2="{_BASE + 10}" '
            'stroke="#888" stroke-dasharray="3,2"/>'
        )
    for px in sorted({x(r) for r in t.reads}):
        marks.append(
            f'<line class="read" x1="{px}" y1="{_BASE - 4}" x2="{px}" y2="{_BASE + 4}" '
            'stroke="#aaa"/>'
        )
    colour = "#cf222e" if t.buffered else "#0969da"
    per_pixel: dict[int, int] = {}
    for event in t.events:
        per_pixel[x(event)] = per_pixel.get(x(event), 0) + 1
    for px, together in sorted(per_pixel.items()):
        marks.append(
            f'<line class="event" x1="{px}" y1="{_BASE - 16}" x2="{px}" y2="{_BASE + 8}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        if together > 1:
            marks.append(
                f'<text x="{px + 2}" y="{_BASE - 18}" font-size="10" fill="{colour}">'
                f"&times;{together}</text>"
            )
    label = f"{count(len(t.events), 'event')} over {_ms(span)}"
    svg = (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" '
        f'height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="{_e(label)}" data-events="{len(t.events)}">{"".join(marks)}</svg>'
    )
    kind = "stream buffered" if t.buffered else "stream"
    return f'<figure class="{kind}">{svg}<figcaption>{_caption(t)}</figcaption></figure>'
