"""Runs commands over SSH with Fabric, with strict host-key checking.

Unknown host keys are refused (paramiko RejectPolicy) and keys come only from the
configured known_hosts file: Fabric's default of auto-adding keys is replaced on every
connection. The remote command runs under `timeout`, in its own process group, and its
group id is reported first, so a timeout or cancel kills all of it, not just the channel.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import paramiko
from fabric import Config, Connection

from chatops.engine.inventory import Host
from chatops.engine.ports import OutputCallback
from chatops.engine.redact import Redactor
from chatops.engine.result import CommandResult, Outcome
from chatops.executors.capture import Capture
from chatops.executors.wrapper import KILL_GRACE, PidMarker, result, wrap


def _classify(exc: BaseException) -> tuple[Outcome, str]:
    if isinstance(exc, paramiko.BadHostKeyException):
        return "host_key_mismatch", "host key mismatch: the server's key differs from known_hosts"
    if isinstance(exc, paramiko.AuthenticationException):
        return "auth_failed", f"authentication failed: {exc}"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return "host_key_unknown", "host key unknown: add it to the configured known_hosts"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "unreachable", "connection timed out"
    if isinstance(exc, OSError | paramiko.SSHException | EOFError):
        return "unreachable", f"unreachable: {exc}"
    return "error", repr(exc)


class SshExecutor:
    def __init__(
        self, redactor: Redactor | None = None, default_known_hosts: str | None = None
    ) -> None:
        self.redactor = redactor or Redactor()
        self.default_known_hosts = default_known_hosts or os.path.expanduser("~/.ssh/known_hosts")

    def connect(self, host: Host) -> Connection:
        """An open Connection that trusts only keys in the host's known_hosts file."""
        connect_kwargs: dict[str, object] = {
            "look_for_keys": host.key_file is None,
            "allow_agent": host.key_file is None,
            "banner_timeout": host.connect_timeout,
            "auth_timeout": host.connect_timeout,
        }
        if host.key_file:
            connect_kwargs["key_filename"] = os.path.expanduser(host.key_file)
        conn = Connection(
            host.address,
            user=host.user,
            port=host.port,
            connect_timeout=int(max(1, host.connect_timeout)),
            connect_kwargs=connect_kwargs,
            config=Config(ssh_config=paramiko.SSHConfig()),
        )
        client: paramiko.SSHClient = conn.client
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        known = os.path.expanduser(host.known_hosts or self.default_known_hosts)
        if os.path.exists(known):
            client.load_host_keys(known)
        conn.open()
        return conn

    def probe(self, host: Host) -> CommandResult:
        started = time.monotonic()
        try:
            conn = self.connect(host)
        except Exception as e:
            outcome, msg = _classify(e)
            return CommandResult(
                host.name, "connect", outcome, None, "", time.monotonic() - started, msg
            )
        try:
            return self._exec(conn, host, "true", 15, lambda _c: None, None, started)
        finally:
            conn.close()

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
        try:
            conn = self.connect(host)
        except Exception as e:
            outcome, msg = _classify(e)
            return CommandResult(
                host.name, command, outcome, None, "", time.monotonic() - started, msg
            )
        try:
            return self._exec(conn, host, command, timeout, on_output, cancel, started)
        finally:
            conn.close()

    def _exec(
        self,
        conn: Connection,
        host: Host,
        command: str,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None,
        started: float,
    ) -> CommandResult:
        cap = Capture(self.redactor, on_output)
        chan: paramiko.Channel = conn.create_session()
        chan.set_combine_stderr(True)
        chan.settimeout(0.2)
        chan.exec_command(wrap(command, timeout))
        marker = PidMarker()
        outcome: Outcome = "ok"
        deadline = started + timeout + KILL_GRACE + 10
        while True:
            try:
                data = chan.recv(65536)
            except TimeoutError:
                data = None
            if data:
                cap.feed(marker.feed(data))
                continue
            if data == b"":
                break  # end of output
            if cancel is not None and cancel.is_set():
                outcome = "cancelled"
                break
            if time.monotonic() >= deadline:
                outcome = "timeout"
                break
        cap.feed(marker.flush())
        pid = marker.pid
        code: int | None = None
        if outcome == "ok" and chan.status_event.wait(KILL_GRACE + 10):
            code = chan.recv_exit_status()
        elif outcome == "ok":
            outcome = "timeout"
        if outcome != "ok":
            self._kill(conn, pid)
            chan.close()
        cap.close()
        return result(host.name, command, outcome, code, cap, started, timeout, where="remote ")

    def _kill(self, conn: Connection, pid: int | None) -> None:
        if pid is None or pid <= 1:
            return
        kill = f"kill -TERM -- -{pid} 2>/dev/null; sleep 2; kill -KILL -- -{pid} 2>/dev/null; true"
        try:
            chan = conn.create_session()
            chan.settimeout(10)
            chan.exec_command(kill)
            chan.recv_exit_status()
            chan.close()
        except Exception:  # noqa: S110 - best effort; the remote `timeout` still fires
            pass
