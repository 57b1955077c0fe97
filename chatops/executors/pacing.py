"""How fast one process opens SSH connections: a token bucket shared by every run, so a
step on hundreds of hosts opens them at a steady rate (sshd's MaxStartups counts the
connections still in their handshake, and refuses past it), and which refusals are worth
trying again."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["OpenPace", "machine_parallel", "refused_early"]


def machine_parallel() -> int:
    """Hosts at once for this machine when `ssh.max_parallel` is unset: the work is waiting
    on the network, so a few dozen a core, within what its threads and memory bear."""
    return max(8, min(64, 16 * (os.cpu_count() or 1)))


class OpenPace:
    """At most `rate` openings a second on average, `burst` at once."""

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self.clock = clock
        self.sleep = sleep
        self._tokens = self.burst
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Wait for a turn; returns how long it waited."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self.sleep(wait)
        return wait


def refused_early(exc: BaseException) -> bool:
    """A connection the server took and dropped before its greeting, at once (what sshd does
    past MaxStartups): worth trying again. A timeout, a refusal, a wrong key are not. A
    timeout anywhere in the chain decides: paramiko words a banner that never came the same
    way as one cut short, and only the cause tells them apart."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not seen for seen in chain):
        chain.append(e)
        e = e.__cause__ or e.__context__
    if any(isinstance(e, socket.timeout | TimeoutError) for e in chain):
        return False
    return any(
        isinstance(e, EOFError | ConnectionResetError | BrokenPipeError)
        or ("Error reading SSH protocol banner" in str(e) and "timed out" not in str(e).lower())
        for e in chain
    )
