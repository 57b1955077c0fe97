"""Terminal output made fit to read in Slack or a file: what a terminal would show.

A step's output is stored as it came (less NUL, which PostgreSQL's text cannot hold), but
what is posted or uploaded is what a person would have seen: ANSI colour and cursor
sequences removed, a `\\r` progress bar at its last state, other control characters
dropped. `Printable` does it to a stream, chunk by chunk, with bounded memory: it holds back
at most one partial escape sequence and one line (up to `max_line` characters).
"""

from __future__ import annotations

import re

__all__ = ["MAX_ESCAPE", "MAX_LINE", "Printable", "last_line_state", "printable"]

# CSI (colours, cursor moves), OSC (titles, links; ended by BEL or ST), and two-character
# escapes; an escape cut at the end of a chunk is held back by the stream
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[ -/]+[0-~]"  # character sets and the like: ESC ( B
    r"|\x1b[@-Z\\-_]"
)
_PARTIAL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[ -/]*)?\Z")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_LINE = 64 * 1024
MAX_ESCAPE = 4096


def printable(text: str) -> str:
    """The whole text at once (a tail, a short output)."""
    p = Printable()
    return p.feed(text) + p.flush()


def last_line_state(line: str) -> str:
    """A line rewritten with `\\r` (a progress bar): what the terminal shows at its end."""
    if "\r" not in line:
        return line
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


class Printable:
    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._hold = ""  # a partial escape sequence
        self._line = ""  # the current line, not yet ended
        self._max = max_line

    def feed(self, chunk: str) -> str:
        text = self._hold + chunk
        self._hold = ""
        partial = _PARTIAL.search(text)
        if partial and len(text) - partial.start() <= MAX_ESCAPE:  # an unended one is text
            self._hold, text = text[partial.start() :], text[: partial.start()]
        text = _CONTROLS.sub("", _ANSI.sub("", text).replace("\r\n", "\n"))
        lines = (self._line + text).split("\n")
        self._line = lines.pop()
        out = "".join(last_line_state(line) + "\n" for line in lines)
        if len(self._line) > self._max:  # a very long line: pass on its last state so far
            out += last_line_state(self._line)
            self._line = ""
        return out

    def flush(self) -> str:
        rest = last_line_state(_CONTROLS.sub("", self._line))
        self._line = self._hold = ""
        return rest
