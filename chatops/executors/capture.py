"""Output capture shared by the executors: decode (invalid UTF-8 replaced), drop NUL, redact,
forward, keep a bounded tail."""

from __future__ import annotations

import codecs
from collections import deque

from chatops.engine.ports import OutputCallback
from chatops.engine.redact import Redactor, StreamRedactor

TAIL_CHARS = 64 * 1024


class Capture:
    """Takes raw bytes, passes redacted text on, and remembers only the last TAIL_CHARS."""

    def __init__(
        self, redactor: Redactor, forward: OutputCallback, tail_chars: int = TAIL_CHARS
    ) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._redact = StreamRedactor(redactor)
        self._forward = forward
        self._tail: deque[str] = deque()
        self._tail_len = 0
        self._max = tail_chars
        self.truncated = False
        self.total = 0

    def feed(self, data: bytes) -> None:
        # NUL never reaches the store (PostgreSQL's text cannot hold it) nor a reader
        self._emit(self._redact.feed(self._decoder.decode(data).replace("\x00", "")))

    def close(self) -> None:
        self._emit(self._redact.feed(self._decoder.decode(b"", final=True)) + self._redact.flush())

    def _emit(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        self._forward(text)
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail_len - len(self._tail[0]) >= self._max:
            self._tail_len -= len(self._tail.popleft())
            self.truncated = True

    @property
    def tail(self) -> str:
        text = "".join(self._tail)
        if len(text) > self._max:
            self.truncated = True
            return text[-self._max :]
        return text
