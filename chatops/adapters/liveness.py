"""Is the process that owns a run still alive? Owners are 'host:pid:token'."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from chatops.engine.domain.run import RunView


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


#: A run this process owns but no worker of it executes is dead once it was claimed this
#: long ago (the moment between a claim's commit and its worker starting is not death).
ORPHAN_GRACE = timedelta(seconds=5)


def owner_gone(owner: str | None, since: datetime, now: datetime, stale: timedelta) -> bool:
    """An owner ('host:pid:token') that is gone: its pid is dead on this host, or (another
    host's) nothing was heard of it since `since` for longer than `stale`."""
    if owner is None:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit():
        return not pid_alive(int(pid_text))
    return now - since > stale


class OwnerLiveness:
    """A run's owner is dead if it was on this host and its pid is gone, or if its
    heartbeat is older than `stale` (for owners on other hosts). A run this process owns is
    dead when none of its workers executes it (`active`): the worker stopped or died."""

    def __init__(
        self,
        me: str,
        now: datetime,
        stale: timedelta,
        active: frozenset[int] = frozenset(),
        grace: timedelta = ORPHAN_GRACE,
    ) -> None:
        self.me = me
        self.now = now
        self.stale = stale
        self.active = active
        self.grace = grace
        self.host = socket.gethostname()

    def __call__(self, run: RunView) -> bool:
        if run.owner is None:
            return False
        if run.owner == self.me:
            since = run.heartbeat_at or run.updated_at
            return run.id not in self.active and self.now - since > self.grace
        host, _, rest = run.owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host == self.host and pid_text.isdigit() and not pid_alive(int(pid_text)):
            return True
        beat = run.heartbeat_at or run.updated_at
        return self.now - beat > self.stale
