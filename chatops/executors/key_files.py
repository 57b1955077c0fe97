"""Private key files, read once while they stay the same.

Given `key_filename`, paramiko reads and parses the key file for every connection, trying
each key type in turn (and its `-cert.pub` beside it): on a step over hundreds of hosts
that is a tenth of the controller's CPU a connection. Here a file is loaded once (again
when its size, mtime or inode change, or its certificate's) and the key is handed to the
connection. A file that does not load here (a passphrase, a type paramiko does not know)
is left to paramiko, which reports why, as before.
"""

from __future__ import annotations

import os
import threading

import paramiko

__all__ = ["KeyFiles"]

_Stamp = tuple[tuple[int, int, int], tuple[int, int, int] | None]


def _stamp(path: str) -> _Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        cert = os.stat(path + "-cert.pub")
        cert_stamp: tuple[int, int, int] | None = (cert.st_ino, cert.st_size, cert.st_mtime_ns)
    except OSError:
        cert_stamp = None
    return (st.st_ino, st.st_size, st.st_mtime_ns), cert_stamp


class KeyFiles:
    """Loaded private keys by path; safe to share between threads."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[_Stamp, paramiko.PKey]] = {}
        self._lock = threading.Lock()

    def key(self, path: str) -> paramiko.PKey | None:
        """The key in `path` (with its certificate, if one is beside it), or None if it
        cannot be loaded without help (paramiko is then given the file name)."""
        stamp = _stamp(path)
        if stamp is None:
            return None
        with self._lock:
            held = self._keys.get(path)
        if held is not None and held[0] == stamp:
            return held[1]
        try:
            key = paramiko.PKey.from_path(path)
        except Exception:  # encrypted, unknown, unreadable: paramiko says why at connect
            return None
        with self._lock:
            self._keys[path] = (stamp, key)
        return key
