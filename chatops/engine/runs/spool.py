"""Output waiting to be stored: in memory up to a bound, then on disk, handed out in order.

A step may print faster than the store takes it, or while the store is down: what waits
is never dropped and never grows the process past `memory_limit` (the rest is appended to an
unlinked temporary file, read back first).
"""

from __future__ import annotations

import tempfile
from typing import IO

__all__ = ["MEMORY_LIMIT", "OutputBuffer"]

MEMORY_LIMIT = 1024 * 1024


class OutputBuffer:
    def __init__(self, memory_limit: int = MEMORY_LIMIT, spool_dir: str | None = None) -> None:
        self._memory: list[str] = []
        self._memory_size = 0
        self._limit = memory_limit
        self._dir = spool_dir
        self._file: IO[bytes] | None = None
        self._read = 0  # where the unread part of the spool file begins
        self._written = 0
        self.spooled = 0  # bytes ever written to disk (for tests and metrics)

    def __len__(self) -> int:
        return self._memory_size + (self._written - self._read)

    def add(self, text: str) -> None:
        if not text:
            return
        self._memory.append(text)
        self._memory_size += len(text)
        if self._memory_size > self._limit:
            self._spill()

    def take(self, most: int) -> str:
        """Up to `most` characters (about; whole characters), oldest first, taken out."""
        if self._file is not None and self._written > self._read:
            return self._take_spooled(most)
        if not self._memory:
            return ""
        text = "".join(self._memory)
        head, rest = text[:most], text[most:]
        self._memory = [rest] if rest else []
        self._memory_size = len(rest)
        return head

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="chatops-output-", dir=self._dir)  # noqa: SIM115
        data = "".join(self._memory).encode("utf-8", "surrogatepass")
        self._file.seek(self._written)
        self._file.write(data)
        self._written += len(data)
        self.spooled += len(data)
        self._memory, self._memory_size = [], 0

    def _take_spooled(self, most: int) -> str:
        assert self._file is not None
        self._file.seek(self._read)
        data = self._file.read(min(most, self._written - self._read))
        end = _whole(data) if self._read + len(data) < self._written else len(data)
        self._read += end
        if self._read == self._written:
            self._read = self._written = 0  # all read: the file is reused from its start
            self._file.truncate(0)
        return data[:end].decode("utf-8", "surrogatepass")


def _whole(data: bytes) -> int:
    """The length of `data` without a UTF-8 sequence cut short at its end."""
    i = len(data) - 1
    while i >= 0 and len(data) - i <= 4 and (data[i] & 0xC0) == 0x80:
        i -= 1
    if i < 0 or data[i] < 0xC0:
        return len(data)
    need = 2 if data[i] < 0xE0 else 3 if data[i] < 0xF0 else 4
    return i if i + need > len(data) else len(data)
