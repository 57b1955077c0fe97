"""Warm connections: a run's SSH connections outlive it for `ssh.keep_warm`, and the next
run on the same host, as the same user, by the same way (key, known_hosts, bastion) takes
one instead of a new handshake, once it has checked it: still alive, and the key the host
presented still the one known_hosts holds. A changed inventory is another way (no reuse);
an expired one is closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paramiko
from fabric import Connection

from chatops.engine.planning.inventory import Host

__all__ = ["WarmPool", "identity", "still_good"]


def identity(host: Host) -> str:
    """The way a connection reaches a host: the same, a warm one may be used."""
    return host.model_dump_json(
        include={"address", "port", "user", "key_file", "known_hosts", "jump"}
    )


def still_good(conn: Connection, known: dict[str, paramiko.PKey]) -> bool:
    """Alive (a channel opens and closes) and the key the host presented still one of
    `known`, the keys its known_hosts holds for it now."""
    transport = conn.client.get_transport()
    if transport is None or not transport.is_active():
        return False
    key = transport.get_remote_server_key()
    if known.get(key.get_name()) != key:
        return False
    try:
        transport.open_session(timeout=5).close()
    except Exception:
        return False
    return True


class WarmPool:
    def __init__(self, keep: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.keep = keep  # seconds; 0: a run's connections close with it
        self.clock = clock
        self._idle: dict[str, list[tuple[Connection, float]]] = {}
        self._lock = threading.Lock()
        self.reused = 0  # for tests and benchmarks

    def park(self, way: str, conn: Connection) -> bool:
        """Keep `conn` warm (False if warm connections are off: the caller closes it)."""
        if self.keep <= 0:
            return False
        with self._lock:
            self._idle.setdefault(way, []).append((conn, self.clock() + self.keep))
        return True

    def take(self, way: str, good: Callable[[Connection], bool]) -> Connection | None:
        """A warm connection that goes `way` and is `good`; the stale ones met are closed."""
        while True:
            with self._lock:
                held = self._idle.get(way)
                if not held:
                    return None
                conn, until = held.pop()
            if until > self.clock() and good(conn):
                self.reused += 1
                return conn
            conn.close()

    def reap(self) -> None:
        """Close what stayed warm past its time."""
        now = self.clock()
        stale = []
        with self._lock:
            for way, held in list(self._idle.items()):
                stale += [c for c, until in held if until <= now]
                self._idle[way] = [(c, u) for c, u in held if u > now]
        for conn in stale:
            conn.close()

    def close_all(self) -> None:
        with self._lock:
            held = [c for conns in self._idle.values() for c, _u in conns]
            self._idle.clear()
        for conn in held:
            conn.close()
