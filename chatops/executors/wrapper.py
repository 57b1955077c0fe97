"""The command line both executors run: report the process group, then run under `timeout`.

`timeout` makes itself a process-group leader and, when the time is up, signals the whole
group (then SIGKILL after a grace period). The first line of output is `chatops-pid:N`,
the group's id, so a cancel can kill the group too. That line is stripped from the output.
"""

from __future__ import annotations

import re
import shlex
import time

from chatops.engine.domain.result import CommandResult, Outcome
from chatops.executors.capture import Capture

KILL_GRACE = 5
MARKER = re.compile(rb"^chatops-pid:(\d+)\n")


def wrap(command: str, timeout: float, merge_stderr: bool = False) -> str:
    secs = max(1, int(timeout))
    inner = f"timeout --kill-after={KILL_GRACE}s {secs}s /bin/sh -c {shlex.quote(command)}"
    if merge_stderr:
        inner += " 2>&1"
    return f"/bin/sh -c {shlex.quote('echo chatops-pid:$$; exec ' + inner)}"


class PidMarker:
    """Strips the leading `chatops-pid:N` line from a byte stream and remembers N."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self._head = b""
        self._done = False

    def feed(self, data: bytes) -> bytes:
        if self._done:
            return data
        self._head += data
        m = MARKER.match(self._head)
        if m:
            self.pid, rest = int(m.group(1)), self._head[m.end() :]
        elif b"\n" in self._head or len(self._head) > 64:
            rest = self._head  # no marker: pass everything on
        else:
            return b""
        self._done, self._head = True, b""
        return rest

    def flush(self) -> bytes:
        rest, self._head, self._done = self._head, b"", True
        return rest


def result(
    host: str,
    command: str,
    outcome: Outcome,
    code: int | None,
    cap: Capture,
    started: float,
    timeout: float,
    *,
    error: str = "",
    where: str = "",
) -> CommandResult:
    """One result from what the wrapped command did: `timeout` exits 124 (or 137 after KILL)."""
    if outcome == "ok" and code in (124, 137):
        outcome = "timeout"
    elif outcome == "ok" and code not in (0, None):
        outcome = "failed"
    error = error or {
        "timeout": f"timed out after {timeout:g}s; {where}process group killed",
        "cancelled": f"cancelled; {where}process group killed",
        "failed": f"exit code {code}",
    }.get(outcome, "")
    return CommandResult(
        host, command, outcome, code, cap.tail, time.monotonic() - started, error, cap.truncated
    )
