"""Runs commands over SSH with Fabric, with strict host-key checking.

Unknown host keys are refused (paramiko RejectPolicy) and keys come only from the
configured known_hosts file: Fabric's default of auto-adding keys is replaced on every
connection. The remote command runs under `timeout`, in its own process group, and its
group id is reported first, so a timeout or cancel kills all of it, not just the channel.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from collections.abc import Callable

import paramiko
from fabric import Config, Connection

from chatops.engine.domain.result import CommandResult
from chatops.engine.planning.inventory import Host, Reachable
from chatops.engine.ports import OutputCallback
from chatops.engine.redact import Redactor
from chatops.executors.capture import Capture
from chatops.executors.connection import HostConnection, fingerprint, tune
from chatops.executors.delivered import Delivered
from chatops.executors.key_files import KeyFiles
from chatops.executors.known_hosts import KnownHosts, host_name
from chatops.executors.pacing import OpenPace, refused_early
from chatops.executors.ssh_errors import NoBanner, ViaBastion, classify
from chatops.executors.ssh_job import JobRun, Link
from chatops.executors.warm import WarmPool, identity, still_good

log = logging.getLogger(__name__)


KEEPALIVE = 30  # seconds between SSH keepalives on a run's connections
IDLE_LIMIT = 300.0  # a run's connection unused this long is closed
REAP_EVERY = 1.0  # seconds between looks for idle connections (each look goes through all)


class _Pooled:
    def __init__(self, conn: Connection, way: str = "") -> None:
        self.conn = conn
        self.way = way  # how it reaches its host (warm.identity): where it waits after
        self.used = time.monotonic()
        self.lock = threading.Lock()  # one command at a time on a connection


class SshExecutor:
    """One connection per host for a whole run (a `session`), or one per command without.

    A session's connection is opened on first use, kept alive, and closed when the session
    closes (the run ends or parks) or after IDLE_LIMIT unused. A connection found dropped
    before a command starts is opened again once; a command that may have started is never
    sent twice.
    """

    def __init__(
        self,
        redactor: Redactor | None = None,
        default_known_hosts: str | None = None,
        idle_limit: float = IDLE_LIMIT,
        connects_per_second: float = 100.0,
        retries: int = 4,
        keep_warm: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.warm = WarmPool(keep_warm, clock)  # a run's connections, for the next run
        self.pace = OpenPace(connects_per_second)
        self.retries = retries
        self.default_known_hosts = default_known_hosts or os.path.expanduser("~/.ssh/known_hosts")
        self.known = KnownHosts()  # each file parsed once while it stays the same
        self.keys = KeyFiles()  # each private key loaded once while its file stays the same
        self.idle_limit = idle_limit
        self.delivered = Delivered()  # jobs whose end came, to empty with the next start
        self._pool: dict[tuple[str, str], _Pooled] = {}
        self._pool_lock = threading.Lock()
        self._reaped = float("-inf")  # when idle connections were last looked for
        self.opened = 0  # connections opened, for tests and benchmarks
        # one Fabric Config for every connection: each new one looks for Fabric's config
        # files and merges them (a millisecond a host); a Connection only reads it, and the
        # ssh_config is empty (the inventory says how a host is reached, not ~/.ssh/config)
        self._fabric = Config(ssh_config=paramiko.SSHConfig())

    # -- sessions --------------------------------------------------------------------------
    def _key(self, session: str, host: Host) -> tuple[str, str]:
        return session, f"{host.name}={host.user}@{host.address}:{host.port}"

    def _pooled(self, session: str, host: Host) -> _Pooled:
        key = self._key(session, host)
        with self._pool_lock:
            self._reap_locked()
            entry = self._pool.get(key)
        if entry is not None:
            return entry
        # opened outside the lock: the hosts of a step connect side by side
        way = identity(host)
        conn = self.warm.take(way, lambda c: still_good(c, self.known_keys(host)))
        conn = conn or self.connect(host)
        with self._pool_lock:
            entry = self._pool.get(key)
            if entry is None:
                entry = self._pool[key] = _Pooled(conn, way)
                return entry
        conn.close()  # another thread of this session got there first
        return entry

    def _reap_locked(self) -> None:
        """Close what stayed idle too long. At most once every REAP_EVERY: a look goes through
        every connection, and one at each command made a step on n hosts cost n^2."""
        now = time.monotonic()
        if now - self._reaped < REAP_EVERY:
            return
        self._reaped = now
        self.warm.reap()
        for key, entry in list(self._pool.items()):
            if now - entry.used > self.idle_limit and entry.lock.acquire(blocking=False):
                try:
                    entry.conn.close()
                finally:
                    entry.lock.release()
                del self._pool[key]

    def close_session(self, session: str) -> None:
        """Close every connection of a session (the run ended or parked)."""
        with self._pool_lock:
            mine = [k for k in self._pool if k[0] == session]
            entries = [self._pool.pop(k) for k in mine]
        for entry in entries:
            with entry.lock:
                if not self.warm.park(entry.way, entry.conn):
                    entry.conn.close()

    def _connection(self, to: Reachable, gateway: Connection | None = None) -> Connection:
        """A Connection (not open yet) that trusts only keys in `to`'s known_hosts file."""
        connect_kwargs: dict[str, object] = {
            "look_for_keys": to.key_file is None,
            "allow_agent": to.key_file is None,
            "banner_timeout": to.connect_timeout,
            "auth_timeout": to.connect_timeout,
        }
        if to.key_file:
            path = os.path.expanduser(to.key_file)
            key = self.keys.key(path)
            if key is not None:
                connect_kwargs["pkey"] = key
            else:
                connect_kwargs["key_filename"] = path
        conn = HostConnection(
            to.address,
            user=to.user,
            port=to.port,
            connect_timeout=int(max(1, to.connect_timeout)),
            connect_kwargs=connect_kwargs,
            config=self._fabric,
            gateway=gateway,
        )
        client: paramiko.SSHClient = conn.client
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.known.trust(client, self._known_file(to), host_name(to.address, to.port))
        return conn

    def _known_file(self, to: Reachable) -> str:
        return os.path.expanduser(to.known_hosts or self.default_known_hosts)

    def known_keys(self, to: Reachable) -> dict[str, paramiko.PKey]:
        """The keys known_hosts holds for `to` now, by key type."""
        return self.known.keys(self._known_file(to), host_name(to.address, to.port))

    def connect(self, host: Host) -> Connection:
        """An open Connection that trusts only keys in the host's known_hosts file; through
        its bastion (`via`) if it has one, whose key is checked the same way. Opened at the
        process's pace; dropped before the greeting (MaxStartups), tried again with backoff."""
        delay = 0.25
        for attempt in range(self.retries + 1):
            self.pace.take()
            try:
                return self._open(host)
            except Exception as e:
                if attempt == self.retries or not refused_early(e):
                    raise
                log.info("%s: dropped before the SSH greeting; again in %.2f s", host.name, delay)
                time.sleep(delay * (1 + random.random() / 2))
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self, host: Host) -> Connection:
        gateway = self._connection(host.jump) if host.jump is not None else None
        conn = self._connection(host, gateway)
        client: paramiko.SSHClient = conn.client
        try:
            conn.open()
        except Exception as e:
            hop_failed = gateway is not None and not gateway.is_connected
            opened = client.get_transport()
            said_nothing = opened is not None and not opened.remote_version
            conn.close()
            if hop_failed and host.jump is not None:
                raise ViaBastion(host.jump, e) from e
            if isinstance(e, paramiko.SSHException) and said_nothing:  # nothing said SSH
                raise NoBanner(str(e)) from e
            raise
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE)
            tune(transport)
        self.opened += 1
        return conn

    def probe(self, host: Host) -> CommandResult:
        started = time.monotonic()
        try:
            conn = self.connect(host)
        except Exception as e:
            return self._refused(host, "connect", e, started)
        link = Link(conn, lambda: self.connect(host))
        try:
            return self._exec(link, host, "true", 15, lambda _c: None, None, started)
        finally:
            link.conn.close()

    def host_key(self, host: Host, session: str | None = None) -> str:
        try:  # RejectPolicy: only a key known_hosts holds is ever seen
            if session is not None:
                entry = self._pooled(session, host)
                with entry.lock:
                    return fingerprint(entry.conn)
            conn = self.connect(host)
        except Exception as e:
            return f"unreadable ({classify(e, host)[1]})"
        try:
            return fingerprint(conn)
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
        session: str | None = None,
        job: str | None = None,
    ) -> CommandResult:
        started = time.monotonic()
        if session is not None:
            return self._run_pooled(
                host, command, timeout, on_output, cancel, session, started, job
            )
        try:
            conn = self.connect(host)
        except Exception as e:
            return self._refused(host, command, e, started)
        link = Link(conn, lambda: self.connect(host))
        try:
            return self._exec(link, host, command, timeout, on_output, cancel, started, job=job)
        finally:
            link.conn.close()

    def settle(self, host: Host, job: str, timeout: float) -> CommandResult | None:
        """Follow a job whose connection was lost to its end, on a connection of its own;
        its output was stored as it came, so what is read again here is not passed on."""
        started = time.monotonic()
        try:
            conn = self.connect(host)
        except Exception as e:
            _outcome, msg = classify(e, host)
            error = f"cannot reach {host.name} to learn how job {job} ended: {msg}"
            return CommandResult(host.name, job, "unknown", None, "", 0.0, error, job=job)
        link = Link(conn, lambda: self.connect(host))
        cap = Capture(self.redactor, lambda _c: None)
        follow = JobRun(
            link,
            host,
            job,
            timeout,
            cap,
            None,
            started,
            reconnect_for=host.reconnect_for,
            job=job,
        )
        try:
            result = follow.run(attach=True)
        finally:
            link.conn.close()
        if follow.gone:
            return None
        if result.outcome != "unknown":
            self.delivered.add(identity(host), (job,))
        return result

    def _refused(self, host: Host, command: str, e: BaseException, started: float) -> CommandResult:
        outcome, msg = classify(e, host)
        return CommandResult(host.name, command, outcome, None, "", time.monotonic() - started, msg)

    def _run_pooled(
        self,
        host: Host,
        command: str,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None,
        session: str,
        started: float,
        job: str | None = None,
    ) -> CommandResult:
        for attempt in (1, 2):
            try:
                entry = self._pooled(session, host)
            except Exception as e:
                return self._refused(host, command, e, started)
            with entry.lock:
                entry.used = time.monotonic()
                transport = entry.conn.client.get_transport()
                try:
                    if transport is None or not transport.is_active():
                        raise EOFError("the connection dropped")
                    chan = entry.conn.create_session()  # nothing was sent yet: safe to retry
                except Exception as e:
                    self._drop(session, host, entry)
                    if attempt == 2:
                        return self._refused(host, command, e, started)
                    continue
                link = Link(entry.conn, functools.partial(self._reopen, entry, host))
                try:
                    return self._exec(
                        link, host, command, timeout, on_output, cancel, started, chan, job
                    )
                finally:
                    entry.used = time.monotonic()
        raise AssertionError("unreachable")  # pragma: no cover

    def _reopen(self, entry: _Pooled, host: Host) -> Connection:
        """A new connection in place of a session's dropped one (its lock is held)."""
        entry.conn = self.connect(host)
        return entry.conn

    def _drop(self, session: str, host: Host, entry: _Pooled) -> None:
        with self._pool_lock:
            if self._pool.get(self._key(session, host)) is entry:
                del self._pool[self._key(session, host)]
        entry.conn.close()

    def _exec(
        self,
        link: Link,
        host: Host,
        command: str,
        timeout: float,
        on_output: OutputCallback,
        cancel: threading.Event | None,
        started: float,
        chan: paramiko.Channel | None = None,
        job: str | None = None,
    ) -> CommandResult:
        cap = Capture(self.redactor, on_output)
        way = identity(host)
        follow = JobRun(
            link,
            host,
            command,
            timeout,
            cap,
            cancel,
            started,
            reconnect_for=host.reconnect_for,
            job=job,
            forget=self.delivered.take(way),
        )
        try:
            result = follow.run(chan)
        except BaseException:
            self.delivered.add(way, follow.forget)  # perhaps never sent: the next one says
            raise
        if result.outcome != "unknown":  # its end came: the next start there empties it
            self.delivered.add(way, (follow.job,))
        return result
