"""Runs commands on this machine, for hosts with `transport: local`.

Uses a subprocess in its own session, so a timeout or cancel kills the whole process group;
output is streamed and only a bounded tail is kept in memory. (invoke's Local runner keeps
all output in memory and kills only the direct child, which is why it is not used here.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from chatops.engine.inventory import Host
from chatops.engine.ports import OutputCallback
from chatops.engine.redact import Redactor
from chatops.engine.result import CommandResult, Outcome
from chatops.executors.capture import Capture

KILL_GRACE = 5.0


class LocalExecutor:
    def __init__(self, redactor: Redactor | None = None, kill_grace: float = KILL_GRACE) -> None:
        self.redactor = redactor or Redactor()
        self.kill_grace = kill_grace

    def probe(self, host: Host) -> CommandResult:
        return self.run(host, "true", timeout=10, on_output=lambda _c: None)

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        started = time.monotonic()
        cap = Capture(self.redactor, on_output)
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        stream = proc.stdout
        reader = threading.Thread(target=_pump, args=(stream, cap), daemon=True)
        reader.start()
        outcome: Outcome = "ok"
        deadline = started + timeout
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                outcome = "cancelled"
                break
            if time.monotonic() >= deadline:
                outcome = "timeout"
                break
            time.sleep(0.05)
        if outcome != "ok":
            _kill_group(proc, self.kill_grace)
        reader.join(timeout=self.kill_grace + 5)
        cap.close()
        code = proc.wait()
        if outcome == "ok" and code != 0:
            outcome = "failed"
        error = {
            "timeout": f"timed out after {timeout:g}s; process group killed",
            "cancelled": "cancelled; process group killed",
        }.get(outcome, "")
        if outcome == "failed":
            error = f"exit code {code}"
        return CommandResult(
            host.name,
            command,
            outcome,
            code,
            cap.tail,
            time.monotonic() - started,
            error,
            cap.truncated,
        )


def _pump(stream: object, cap: Capture) -> None:
    read = stream.read1  # type: ignore[attr-defined]
    while chunk := read(65536):
        cap.feed(chunk)


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
