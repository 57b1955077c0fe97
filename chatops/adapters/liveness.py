"""Is the process that owns a run still alive? Owners are 'host:pid:token'."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from chatops.engine.runs.run import RunView


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


class OwnerLiveness:
    """A run's owner is dead if it was on this host and its pid is gone, or if its
    heartbeat is older than `stale` (for owners on other hosts)."""

    def __init__(self, me: str, now: datetime, stale: timedelta) -> None:
        self.me = me
        self.now = now
        self.stale = stale
        self.host = socket.gethostname()

    def __call__(self, run: RunView) -> bool:
        if run.owner is None or run.owner == self.me:
            return False
        host, _, rest = run.owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host == self.host and pid_text.isdigit() and not pid_alive(int(pid_text)):
            return True
        beat = run.heartbeat_at or run.updated_at
        return self.now - beat > self.stale
