"""The errors a test asks the Slack stand-in to answer: the next few calls of a method
(`fail`), or every call about one message until healed (`refuse`)."""

from __future__ import annotations

import threading
from typing import Any

Fault = tuple[int, int]  # an HTTP status, and the Retry-After a 429 carries


class Faults:
    def __init__(self) -> None:
        self._next: dict[str, list[Fault]] = {}
        self._refused: dict[tuple[str, str], Fault] = {}  # (method, message ts): until healed
        self._lock = threading.Lock()

    def fail(self, method: str, status: int = 429, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an error status."""
        with self._lock:
            self._next.setdefault(method, []).extend([(status, retry_after)] * times)

    def refuse(self, method: str, ts: str, status: int = 500, retry_after: int = 1) -> None:
        """Answer every call of `method` about the message `ts` with an error status (until
        `heal`); calls about other messages are answered as usual."""
        with self._lock:
            self._refused[(method, ts)] = (status, retry_after)

    def heal(self) -> None:
        """Forget the errors `fail` has yet to answer and the messages `refuse` named."""
        with self._lock:
            self._next.clear()
            self._refused.clear()

    def take(self, method: str, args: dict[str, Any]) -> Fault | None:
        """The error this call is answered with, if any (a `fail` is used up by it)."""
        with self._lock:
            queued = self._next.get(method)
            if queued:
                return queued.pop(0)
            return self._refused.get((method, str(args.get("ts", ""))))
