"""A private key file is loaded once while it stays the same, again when it changes; one
that cannot be loaded without help (a passphrase) is left to paramiko."""

from __future__ import annotations

import os
from pathlib import Path

import paramiko

from chatops.executors.key_files import KeyFiles


def written(path: Path, password: str | None = None) -> paramiko.RSAKey:
    key = paramiko.RSAKey.generate(1024)
    key.write_private_key_file(str(path), password=password)
    return key


def test_a_key_is_loaded_once_and_again_when_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "id_rsa"
    first = written(path)
    keys = KeyFiles()
    loaded = keys.key(str(path))
    assert loaded is not None and loaded == first
    assert keys.key(str(path)) is loaded  # not read again
    second = written(path)  # rotated: another key in the same file
    os.utime(path, ns=(1, 1))  # whatever the clock's resolution, the stamp differs
    again = keys.key(str(path))
    assert again is not None and again == second and again != first


def test_a_key_that_needs_a_passphrase_or_is_missing_is_left_to_paramiko(
    tmp_path: Path,
) -> None:
    locked = tmp_path / "locked"
    written(locked, password="secret")
    keys = KeyFiles()
    assert keys.key(str(locked)) is None
    assert keys.key(str(tmp_path / "absent")) is None
