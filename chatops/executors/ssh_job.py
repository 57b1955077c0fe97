"""Following a remote job over SSH, across dropped connections (see `remote_job`).

The channel streams the job's output; if the connection drops (the sshd serving it killed,
a network blip), the outcome is not a failure but unknown, so the link is opened again
(bounded retries with backoff) and the job attached from the last byte received: a command
still running is waited for, a finished one gives its true exit status. Only when the host
stays unreachable past `reconnect_for`, or its record of the job is gone, is the outcome
`unknown`; a cancel or timeout kills the job's process group, after reconnecting if need be.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import paramiko
from fabric import Connection

from chatops.engine.domain.result import CommandResult, Outcome
from chatops.engine.planning.inventory import Host
from chatops.executors import remote_job
from chatops.executors.capture import Capture
from chatops.executors.wrapper import KILL_GRACE, PidMarker, result

log = logging.getLogger(__name__)

RECONNECT_FOR = 60.0  # seconds to try reaching a host again after a dropped connection
FIRST_RETRY = 0.5
EXIT_WAIT = 5.0  # after the output ends, how long the exit status may take on a live link


class Link:
    """The connection a job runs over; `reopen` replaces it after a drop."""

    def __init__(self, conn: Connection, reopen: Callable[[], Connection]) -> None:
        self.conn = conn
        self._reopen = reopen

    def reopen(self) -> Connection:
        with contextlib.suppress(Exception):  # it is already broken
            self.conn.close()
        self.conn = self._reopen()
        return self.conn

    @property
    def alive(self) -> bool:
        transport = self.conn.client.get_transport()
        return transport is not None and transport.is_active()


class _Channel:
    """One channel's view of the job: the output after its `chatops-pid` line."""

    def __init__(self, chan: paramiko.Channel, cap: Capture) -> None:
        self.chan = chan
        self.cap = cap
        self.marker = PidMarker()
        self.received = 0  # bytes of the job's output this channel passed on

    def pump(self, link: Link, cancel: threading.Event | None, deadline: float) -> str:
        """Read until the job ends ("done"), or "cancelled", "timeout", "lost"."""
        while True:
            try:
                data = self.chan.recv(65536)
            except TimeoutError:
                data = None
            except (OSError, EOFError, paramiko.SSHException):
                return "lost"
            if data:
                body = self.marker.feed(data)
                self.received += len(body)
                self.cap.feed(body)
                continue
            if data == b"":
                break
            if cancel is not None and cancel.is_set():
                return "cancelled"
            if time.monotonic() >= deadline:
                return "timeout"
            if not link.alive:
                return "lost"
        rest = self.marker.flush()
        self.received += len(rest)
        self.cap.feed(rest)
        if not self.chan.status_event.wait(EXIT_WAIT if link.alive else 0.2):
            return "lost"
        # a channel closed with its connection gets the status -1: no status came
        return "done" if self.chan.recv_exit_status() >= 0 else "lost"


class JobRun:
    def __init__(
        self,
        link: Link,
        host: Host,
        command: str,
        timeout: float,
        cap: Capture,
        cancel: threading.Event | None,
        started: float,
        *,
        reconnect_for: float = RECONNECT_FOR,
        sleep: Callable[[float], None] = time.sleep,
        job: str | None = None,
        forget: tuple[str, ...] = (),
    ) -> None:
        self.link = link
        self.host = host
        self.command = command
        self.timeout = timeout
        self.cap = cap
        self.cancel = cancel
        self.started = started
        self.reconnect_for = reconnect_for
        self.sleep = sleep
        self.job = job or remote_job.new_id()
        self.forget = forget  # jobs on this host whose end came: their output goes at start
        self.pid: int | None = None
        self.received = 0
        self.reconnects = 0
        self.gone = False  # the host has no record of the job (never started, or reported)

    def run(self, chan: paramiko.Channel | None = None, attach: bool = False) -> CommandResult:
        """Start the job and follow it (or, `attach`, follow one started before)."""
        deadline = self.started + self.timeout + KILL_GRACE + 10
        line = (
            remote_job.attach(self.job, 0)
            if attach
            else remote_job.start(self.job, self.command, self.timeout, self.forget)
        )
        ch = self._open(line, chan)
        how = self._follow(ch, deadline)
        code: int | None = None
        early = 0  # times the follower ended while the job still ran
        while True:
            while how == "lost":
                if not self._reconnect():
                    why = "the connection was lost and the host did not answer again"
                    return self._unknown(why)
                try:
                    ch = self._open(remote_job.attach(self.job, self.received))
                except Exception as e:  # the new link broke at once: reconnect again
                    log.warning("%s: could not attach to job %s: %s", self.host.name, self.job, e)
                    continue
                how = self._follow(ch, deadline)
            if how != "done":
                break
            code = ch.chan.recv_exit_status()
            if code != remote_job.LOST:
                break
            state, code = self._status()  # LOST is also a command's own 255: ask
            if state == "exit":
                break
            if state == "running" and early < 3:  # the follower stopped early: follow again
                early += 1
                how = "lost"
                continue
            self.gone = True
            return self._unknown("its record on the host is gone (was it rebooted?)")
        outcome: Outcome = "ok"
        if how != "done":
            outcome = "cancelled" if how == "cancelled" else "timeout"
            self._kill()
        ch.chan.close()
        self.cap.close()
        where = "remote "
        return result(
            self.host.name,
            self.command,
            outcome,
            code,
            self.cap,
            self.started,
            self.timeout,
            where=where,
        )

    # -- the parts -------------------------------------------------------------------------
    def _open(self, line: str, chan: paramiko.Channel | None = None) -> _Channel:
        chan = chan or self.link.conn.create_session()
        chan.set_combine_stderr(True)
        chan.settimeout(0.2)
        chan.exec_command(line)
        return _Channel(chan, self.cap)

    def _follow(self, ch: _Channel, deadline: float) -> str:
        before = self.received
        how = ch.pump(self.link, self.cancel, deadline)
        if how in ("cancelled", "timeout") and self.pid is None and ch.marker.pid is None:
            _await_pid(ch)  # stopped before the group id came: wait for it, to kill the group
        self.received = before + ch.received
        if ch.marker.pid:
            self.pid = ch.marker.pid
        if how == "lost":
            log.warning(
                "%s: connection lost while following job %s; reconnecting", self.host.name, self.job
            )
        return how

    def _reconnect(self) -> bool:
        until = time.monotonic() + self.reconnect_for
        delay = FIRST_RETRY
        while True:
            if self.cancel is not None and self.cancel.is_set() and self.pid is None:
                return False
            try:
                self.link.reopen()
                self.reconnects += 1
                return True
            except Exception as e:
                if time.monotonic() + delay > until:
                    log.warning("%s: gave up reconnecting: %s", self.host.name, e)
                    return False
            self.sleep(delay)
            delay = min(delay * 2, 8.0)

    def _status(self) -> tuple[str, int | None]:
        """("exit", N), ("running", None), or ("lost", None) (no record, or no answer)."""
        try:
            chan = self.link.conn.create_session()
            chan.settimeout(10)
            chan.exec_command(remote_job.status(self.job))
            said = chan.makefile("r").read().decode().strip()
            chan.close()
        except Exception:
            return "lost", None
        if said.startswith("exit ") and said.split()[1].lstrip("-").isdigit():
            return "exit", int(said.split()[1])
        return ("running", None) if said == "running" else ("lost", None)

    def _kill(self) -> None:
        if self.pid is None:  # it never started
            return
        kill = remote_job.kill(self.job)
        for _ in range(2):
            try:
                chan = self.link.conn.create_session()
                chan.settimeout(10)
                chan.exec_command(kill)
                chan.recv_exit_status()
                chan.close()
                return
            except Exception:
                if not self._reconnect():  # the group lives on; its own `timeout` still fires
                    return

    def _unknown(self, why: str) -> CommandResult:
        self.cap.close()
        error = (
            f"connection to {self.host.name} lost during the command: {why}; the command may "
            f"have finished or may still run (job {self.job} on the host)"
        )
        return CommandResult(
            self.host.name,
            self.command,
            "unknown",
            None,
            self.cap.tail,
            time.monotonic() - self.started,
            error,
            self.cap.truncated,
            job=self.job,
        )


def _await_pid(ch: _Channel, within: float = 5.0) -> None:
    """Read until the `chatops-pid:N` line has come (or `within` seconds)."""
    deadline = time.monotonic() + within
    while ch.marker.pid is None and time.monotonic() < deadline:
        try:
            data = ch.chan.recv(65536)
        except TimeoutError:
            continue
        except (OSError, EOFError, paramiko.SSHException):
            return
        if not data:
            return
        body = ch.marker.feed(data)
        ch.received += len(body)
        ch.cap.feed(body)
