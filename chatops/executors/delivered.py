"""The jobs whose end this controller has received, per host, until it tells the host.

A host keeps a job's output until the controller has it all: the shell that streamed it
cannot know (a network blip leaves the channel looking open while sshd buffers what
never arrives), so nothing on the host empties it by itself. Once a job's end has come,
its id waits here, and the next job this process starts on the same host (same user, same
way there) carries it: the starting shell empties those outputs with its builtins, at no
cost of its own. What no later job carries (a host's last command, a controller that died)
goes with the week-old records the host sweeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

MAX_PER_HOST = 32  # ids one start line carries at most (the oldest beyond wait for the sweep)


class Delivered:
    def __init__(self, limit: int = MAX_PER_HOST) -> None:
        self.limit = limit
        self._ids: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def add(self, host: str, jobs: Iterable[str]) -> None:
        """The ends of `jobs` on `host` have been received."""
        with self._lock:
            ids = self._ids.setdefault(host, [])
            ids.extend(j for j in jobs if j not in ids)
            del ids[: -self.limit]

    def take(self, host: str) -> tuple[str, ...]:
        """The ids to empty on `host` with the next job started there (taken: given back
        with `add` if that job was never sent)."""
        with self._lock:
            return tuple(self._ids.pop(host, ()))
