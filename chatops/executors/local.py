"""Runs commands on this machine (hosts with `transport: local`) through invoke.

invoke's Local runner keeps all output in memory and kills only the shell on timeout, so
this one streams output into a bounded Capture instead, and runs the command under the
same `timeout` wrapper as the SSH executor: a timeout or cancel kills the process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from invoke.config import Config
from invoke.context import Context
from invoke.exceptions import CommandTimedOut
from invoke.runners import Local

from chatops.engine.domain.result import CommandResult, Outcome
from chatops.engine.planning.inventory import Host
from chatops.engine.ports import OutputCallback
from chatops.engine.redact import Redactor
from chatops.executors.capture import Capture
from chatops.executors.wrapper import KILL_GRACE, PidMarker, result, wrap


class _StreamingLocal(Local):
    """invoke's Local runner, handing output on instead of keeping it."""

    def __init__(self, context: Context, sink: Callable[[str], None]) -> None:
        super().__init__(context)
        self._sink = sink

    def _handle_output(self, buffer_: list[str], hide: bool, output: Any, reader: Any) -> None:
        for data in self.read_proc_output(reader):
            self._sink(data)


class LocalExecutor:
    def __init__(self, redactor: Redactor | None = None, kill_grace: float = KILL_GRACE) -> None:
        self.redactor = redactor or Redactor()
        self.kill_grace = kill_grace

    def probe(self, host: Host) -> CommandResult:
        return self.run(host, "true", timeout=10, on_output=lambda _c: None)

    def host_key(self, host: Host, session: str | None = None) -> str:
        return "none"  # this machine: no connection, no key

    def close_session(self, session: str) -> None:
        return None

    def settle(self, host: Host, job: str, timeout: float) -> CommandResult | None:
        """Local commands keep no record of themselves: nothing to learn."""
        return None

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None = None,
        session: str | None = None,  # nothing to keep open on this machine
        job: str | None = None,  # local commands are not jobs
    ) -> CommandResult:
        started = time.monotonic()
        cap = Capture(self.redactor, on_output)
        marker = PidMarker()
        lock = threading.Lock()

        def sink(text: str) -> None:
            with lock:
                cap.feed(marker.feed(text.encode("utf-8", "surrogateescape")))

        runner = _StreamingLocal(Context(Config()), sink)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                # The command is a rendered plan step: its values were validated and quoted.
                box["result"] = runner.run(  # noqa: S604
                    wrap(command, timeout, merge_stderr=True),
                    shell="/bin/sh",
                    hide=True,
                    warn=True,
                    pty=False,
                    in_stream=False,
                    timeout=timeout + self.kill_grace + 10,
                )
            except CommandTimedOut:
                box["timed_out"] = True
            except Exception as e:  # reported as an error result, never raised
                box["error"] = repr(e)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        outcome: Outcome = "ok"
        while worker.is_alive():
            worker.join(0.1)
            if cancel is not None and cancel.is_set() and worker.is_alive():
                outcome = "cancelled"
                _kill_group(marker.pid, self.kill_grace, worker)
                break
        worker.join(self.kill_grace + 5)
        with lock:
            cap.feed(marker.flush())
            cap.close()
        code: int | None = None
        error = ""
        if box.get("timed_out"):
            outcome = "timeout"
            _kill_group(marker.pid, self.kill_grace, worker)
        elif "error" in box:
            outcome, error = "error", box["error"]
        elif outcome == "ok":
            code = int(box["result"].exited)
        return result(host.name, command, outcome, code, cap, started, timeout, error=error)


def _kill_group(pid: int | None, grace: float, worker: threading.Thread) -> None:
    if pid is None or pid <= 1:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
        worker.join(grace)
        os.killpg(pid, signal.SIGKILL)
