"""known_hosts files, read once while they stay the same, and asked for one host's keys.

paramiko's `SSHClient.load_host_keys` parses the whole file for every connection, and its
parser checks each line against every line before it: a 500-line file cost 0.15 s of CPU
a connection, O(hosts^2) for a step on a fleet. Here a file is parsed once (again when its
size, mtime or inode change) into a map by host name, hashed names (`|1|salt|hash`) kept
apart and matched as paramiko matches them; a connection gets only its host's keys.

Lines with a marker (`@cert-authority`, `@revoked`) are not trusted: paramiko does not
support them either, and a key that is not loaded is refused (RejectPolicy).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

__all__ = ["KnownHosts", "host_name"]


def host_name(address: str, port: int) -> str:
    """How known_hosts names a host: `address` on port 22, `[address]:port` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


@dataclass
class _Parsed:
    stamp: tuple[int, int, int]
    plain: dict[str, dict[str, paramiko.PKey]] = field(default_factory=dict)
    hashed: list[tuple[str, str, paramiko.PKey]] = field(default_factory=list)


class KnownHosts:
    """Parsed known_hosts files by path; safe to share between threads."""

    def __init__(self) -> None:
        self._files: dict[str, _Parsed] = {}
        self._lock = threading.Lock()

    def keys(self, path: str, name: str) -> dict[str, paramiko.PKey]:
        """The keys `path` holds for `name` (`host_name()`), by key type; none if the file
        is missing or unreadable."""
        parsed = self._current(path)
        if parsed is None:
            return {}
        found = dict(parsed.plain.get(name, {}))
        for pattern, keytype, key in parsed.hashed:
            if keytype not in found and paramiko.HostKeys.hash_host(name, pattern) == pattern:
                found[keytype] = key
        return found

    def trust(self, client: paramiko.SSHClient, path: str, name: str) -> None:
        """Load `name`'s keys from `path` into `client`, and nothing else."""
        held = client.get_host_keys()
        for keytype, key in self.keys(path, name).items():
            held.add(name, keytype, key)

    def _current(self, path: str) -> _Parsed | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            parsed = self._files.get(path)
        if parsed is not None and parsed.stamp == stamp:
            return parsed
        parsed = _parse(path, stamp)
        with self._lock:
            self._files[path] = parsed
        return parsed


def _parse(path: str, stamp: tuple[int, int, int]) -> _Parsed:
    parsed = _Parsed(stamp)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return parsed
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = HostKeyEntry.from_line(line, n)
        except (InvalidHostKey, ValueError):
            continue
        if entry is None or entry.key is None:
            continue
        keytype = entry.key.get_name()
        for name in entry.hostnames:
            if name.startswith("|1|"):
                parsed.hashed.append((name, keytype, entry.key))
            else:
                parsed.plain.setdefault(name, {}).setdefault(keytype, entry.key)
    return parsed
