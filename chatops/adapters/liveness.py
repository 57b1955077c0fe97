"""Is the process that owns a run still alive? Owners are 'host:pid:token', and every
process that executes runs is a worker in the registry (`store/workers.py`) that beats.

A pid is only a proof of death where it means the same process: the same machine since its
boot, the same pid namespace, the same start time. Two containers share a hostname and not
their pids (host networking gives every container the host's name): a pid missing from this
namespace says nothing of a process in another. Elsewhere the worker's heartbeat decides.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from pathlib import Path

from chatops.engine.domain.run import RunView
from chatops.engine.ports import WorkerInfo

__all__ = [
    "ORPHAN_GRACE",
    "OwnerLiveness",
    "new_owner",
    "pid_alive",
    "process_key",
    "worker_alive",
]


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _namespace() -> str:
    """This machine's boot and this process's pid namespace ('' where /proc has neither)."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        ns = ""
    return f"{boot}/{ns}" if boot and ns else ""


def _started(pid: int) -> str:
    """A process's start time in clock ticks since boot ('' when it is not there)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def process_key(pid: int | None = None) -> str:
    """What makes a pid mean one process: boot, pid namespace, pid and start time."""
    pid = os.getpid() if pid is None else pid
    where = _namespace()
    return f"{where}/{pid}/{_started(pid)}" if where else ""


def _dead_here(key: str) -> bool | None:
    """True if `key` names a process of this namespace that is gone (or another that took its
    pid), False if it runs, None if this process cannot tell (another namespace, no /proc)."""
    where, _, rest = key.rpartition("/")
    where, _, pid_text = where.rpartition("/")
    if not where or where != _namespace() or not pid_text.isdigit():
        return None
    return _started(int(pid_text)) != rest


def worker_alive(worker: WorkerInfo | None, now: datetime, dead_after: timedelta) -> bool:
    """A worker is alive while it beats; one of this namespace whose process is gone is dead
    at once."""
    if worker is None:
        return False
    if worker.process_key and _dead_here(worker.process_key):
        return False
    return now - worker.beat_at <= dead_after


#: A run this process owns but no worker of it executes is dead once it was claimed this
#: long ago (the moment between a claim's commit and its worker starting is not death).
ORPHAN_GRACE = timedelta(seconds=5)


class OwnerLiveness:
    """A run's owner is dead if its worker is (`worker_alive`: no row, no beat for
    `dead_after`, or its process gone from this namespace). A run this process owns is dead
    when none of its threads executes it (`active`): the thread stopped or died."""

    def __init__(
        self,
        me: str,
        now: datetime,
        dead_after: timedelta,
        workers: dict[str, WorkerInfo],
        active: frozenset[int] = frozenset(),
        grace: timedelta = ORPHAN_GRACE,
    ) -> None:
        self.me = me
        self.now = now
        self.dead_after = dead_after
        self.workers = workers
        self.active = active
        self.grace = grace

    def __call__(self, run: RunView) -> bool:
        if run.owner is None:
            return False
        if run.owner == self.me:
            since = run.heartbeat_at or run.updated_at
            return run.id not in self.active and self.now - since > self.grace
        return not worker_alive(self.workers.get(run.owner), self.now, self.dead_after)
