"""A step's output as a terminal showed it, for the web: split into lines as it streams, and
each line either stripped to text or rendered with its colours as HTML.

Colours and bold (SGR) become `<span class="…">` from a fixed set of classes (the page's one
style sheet colours them: no inline style, which the Content-Security-Policy forbids); every
other escape is dropped and every text escaped. The colour state carries over from line to
line, as a terminal's does. Memory stays bounded: one partial line (at most `MAX_LINE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html import escape

from chatops.engine.runs.printable import MAX_LINE, last_line_state

__all__ = ["AnsiHtml", "lines_of"]

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_OTHER = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")  # all but ESC


def lines_of(chunks: Iterable[str], max_line: int = MAX_LINE) -> Iterator[str]:
    """The output's lines as they came (escapes kept, `\\r\\n` as `\\n`, no newline), a line
    longer than `max_line` cut into pieces of that size."""
    rest = ""
    for chunk in chunks:
        parts = (rest + chunk.replace("\r\n", "\n")).split("\n")
        rest = parts.pop()
        yield from parts
        while len(rest) > max_line:
            yield rest[:max_line]
            rest = rest[max_line:]
    if rest:
        yield rest


_ESCAPES = re.compile(_SGR.pattern + "|" + _OTHER.pattern)
_ALL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain(line: str) -> str:
    """A raw line as text: what the terminal showed, no escapes, no control characters."""
    if "\x1b" in line or "\r" in line:
        line = _ESCAPES.sub("", last_line_state(line))
    return _ALL_CONTROLS.sub("", line)


class AnsiHtml:
    """Renders raw lines as HTML with their colours, one line at a time, in order."""

    def __init__(self) -> None:
        self.fg: int | None = None  # 0-15: the 16 terminal colours
        self.bg: int | None = None
        self.bold = False

    def _classes(self) -> str:
        out = []
        if self.bold:
            out.append("b")
        if self.fg is not None:
            out.append(f"f{self.fg}")
        if self.bg is not None:
            out.append(f"g{self.bg}")
        return " ".join(out)

    def _apply(self, params: str) -> None:
        codes = [int(c) if c.isdigit() else 0 for c in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.fg = self.bg = None
                self.bold = False
            elif c == 1:
                self.bold = True
            elif c == 22:
                self.bold = False
            elif 30 <= c <= 37:
                self.fg = c - 30
            elif 90 <= c <= 97:
                self.fg = c - 90 + 8
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = c - 40
            elif 100 <= c <= 107:
                self.bg = c - 100 + 8
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):  # 256 colours or RGB: skipped
                i += 2 if codes[i + 1] == 5 else 4
            i += 1

    def skip(self, raw: str) -> None:
        """Take a line's colour changes without rendering it (a line before the page)."""
        if "\x1b[" not in raw:
            return
        codes = _SGR.findall(raw)  # even overwritten text's colours stay, as on a terminal
        start = 0
        for i in range(len(codes) - 1, -1, -1):  # what came before a full reset is gone
            if codes[i] in ("", "0"):
                self.fg = self.bg = None
                self.bold = False
                start = i + 1
                break
        for params in codes[start:]:
            self._apply(params)

    def line(self, raw: str) -> str:
        """One raw line as HTML (escaped, coloured), the colour state carried on."""
        shown = last_line_state(raw)
        out: list[str] = []
        at = 0
        for m in _SGR.finditer(shown):
            out.append(self._text(shown[at : m.start()]))
            self._apply(m[1])
            at = m.end()
        out.append(self._text(shown[at:]))
        return "".join(out)

    def _text(self, text: str) -> str:
        text = _CONTROLS.sub("", _OTHER.sub("", text)).replace("\x1b", "")
        if not text:
            return ""
        classes = self._classes()
        body = escape(text, quote=False)
        return f'<span class="{classes}">{body}</span>' if classes else body
