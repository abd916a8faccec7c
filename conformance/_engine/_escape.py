"""One escaping function per output kind, so that a container's bytes never act on a reader.

Reports quote what containers send: error messages, and the bytes that broke a rule. Every
report and every line the kit prints passes through the function of its kind, where it is
written:

- ``for_terminal``: the text report, the command line's progress and preflight lines, the
  pytest plugin's failure and skip texts. No escape sequence (CSI, OSC window title, clear
  screen), BEL, backspace, carriage return or bidirectional override reaches the terminal.
- ``for_xml``: the JUnit report. No character that XML 1.0 forbids (NUL and most C0
  controls, lone surrogates, U+FFFE, U+FFFF), nor any of the above, reaches the file.
- ``for_html``: the HTML report. The same characters as ``for_xml`` are shown, and ``<``,
  ``>``, ``&`` and quotes become entities, so a ``<script>`` in a stream is text on the page.
- ``for_json``: the JSON report. The same characters become ``\\uXXXX`` escapes, which JSON
  parsers read back to the original text, and the file stays valid UTF-8.

Outside JSON, an escaped character is shown as ``\\xNN`` or ``\\uNNNN``, as the evidence shows
undecodable bytes, so a report still says what was sent. Newlines and tabs are kept.
"""

from __future__ import annotations

import html
import re
from typing import Final, TextIO

# C0 controls but tab and newline (CR included: it rewrites the line), DEL, the C1 controls
# (0x9B is a one-byte CSI, 0x9D an OSC), the bidirectional controls, and lone surrogates (a
# JSON error message can carry one, and no UTF-8 writer takes it).
_UNSAFE: Final = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
)
_TERMINAL: Final = re.compile(f"[{_UNSAFE}]")
_XML: Final = re.compile(f"[{_UNSAFE}\ufffe\uffff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def for_terminal(text: str) -> str:
    """``text`` with every control character but newline and tab shown, not obeyed."""
    return _TERMINAL.sub(_shown, text)


def for_xml(text: str) -> str:
    """``text`` as every XML 1.0 parser accepts it, and as safe as ``for_terminal``."""
    return _XML.sub(_shown, text)


def for_html(text: str) -> str:
    """``text`` as inert HTML text or attribute value: shown as sent, never parsed as markup."""
    return html.escape(for_xml(text), quote=True)


def for_json(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) whose strings keep no
    control, bidirectional or surrogate character raw: each becomes a ``\\uXXXX`` escape."""
    # Outside its strings, a JSON document is ASCII: every match is inside a string.
    return _TERMINAL.sub(_json_escape, document)


class Terminal:
    """A stream (stderr) escaped for a terminal: its lines quote what the target sent."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        """Write ``text`` with no control character left to act on the terminal."""
        self.stream.write(for_terminal(text))

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()
