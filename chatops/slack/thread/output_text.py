"""A step's output as the thread shows it: what a terminal would have shown (no NUL, colour
codes or `\\r` redraws), the end of it inline, the whole of it as a file streamed from the
store (memory stays bounded whatever a step printed)."""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence

from chatops.engine.domain.result import CommandResult
from chatops.engine.runs.printable import Printable, printable
from chatops.slack.views import blocks as bk

INLINE_LINES = 15
INLINE_CHARS = 2500
LIVE_CHARS = 1500


def result_lines(
    results: Sequence[CommandResult],
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(host, outcome, the end of its output) per host, and the hosts whose output is too
    long to show inline (it goes up as a file)."""
    lines, long_hosts = [], []
    for r in results:
        result = f"{r.code} in {r.duration:.1f}s" + (
            f" ({r.error})" if r.error and not r.ok else ""
        )
        tail = printable(r.tail).rstrip()
        if tail.count("\n") >= INLINE_LINES or len(tail) > INLINE_CHARS or r.truncated:
            long_hosts.append(r.host)
            tail = "\n".join(tail.splitlines()[-8:])
        lines.append((r.host, result, bk.cut_head(tail, 800)))
    return lines, long_hosts


def live_text(live: str) -> str:
    """The live tail as a terminal shows it, from its first whole line once it was cut."""
    if len(live) >= LIVE_CHARS and "\n" in live:
        live = live[live.index("\n") + 1 :]
    return printable(live)


class LiveOutput:
    """The end of what each run's step in hand printed so far, for its status message."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tails: dict[int, str] = {}

    def start(self, run_id: int) -> None:
        with self._lock:
            self._tails[run_id] = ""

    def add(self, run_id: int, chunk: str) -> None:
        with self._lock:
            self._tails[run_id] = (self._tails.get(run_id, "") + chunk)[-LIVE_CHARS:]

    def text(self, run_id: int) -> str:
        with self._lock:
            tail = self._tails.get(run_id, "")
        return live_text(tail)

    def drop(self, run_id: int) -> None:
        with self._lock:
            self._tails.pop(run_id, None)


@contextlib.contextmanager
def shown_file(chunks: Iterable[str]) -> Iterator[str]:
    """A temporary file holding the output as a terminal showed it; its path."""
    with tempfile.NamedTemporaryFile("w+", prefix="chatops-upload-", suffix=".log") as f:
        shown = Printable()
        for chunk in chunks:
            f.write(shown.feed(chunk))
        f.write(shown.flush())
        f.flush()
        yield f.name
