"""known_hosts read once while it stays the same: one host's keys, plain or hashed names,
marker lines not trusted, a changed file read again."""

from __future__ import annotations

import os
from pathlib import Path

import paramiko

from chatops.executors.known_hosts import KnownHosts, host_name


def line(names: str, key: paramiko.PKey) -> str:
    return f"{names} {key.get_name()} {key.get_base64()}\n"


def test_names_as_known_hosts_writes_them() -> None:
    assert host_name("10.0.0.5", 22) == "10.0.0.5"
    assert host_name("10.0.0.5", 2222) == "[10.0.0.5]:2222"


def test_a_host_gets_its_own_keys_and_no_other(tmp_path: Path) -> None:
    mine, other = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(
        "# a comment\n\n"
        + line("web-1,10.0.0.1", mine)
        + line("[10.0.0.2]:2222", other)
        + "garbage that is no key\n"
    )
    known = KnownHosts()
    assert known.keys(str(path), "10.0.0.1") == {mine.get_name(): mine}
    assert known.keys(str(path), "web-1") == {mine.get_name(): mine}
    assert known.keys(str(path), "[10.0.0.2]:2222") == {other.get_name(): other}
    assert known.keys(str(path), "10.0.0.2") == {}  # another port is another host
    assert known.keys(str(tmp_path / "missing"), "10.0.0.1") == {}


def test_hashed_names_match_as_openssh_hashes_them(tmp_path: Path) -> None:
    key = paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(line(paramiko.HostKeys.hash_host("[db-1]:2200"), key))
    known = KnownHosts()
    assert known.keys(str(path), "[db-1]:2200") == {key.get_name(): key}
    assert known.keys(str(path), "[db-2]:2200") == {}


def test_marker_lines_are_not_trusted(tmp_path: Path) -> None:
    ca, revoked = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text("@cert-authority " + line("*", ca) + "@revoked " + line("web-1", revoked))
    known = KnownHosts()
    assert known.keys(str(path), "web-1") == {}


def test_a_changed_file_is_read_again_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    old, new = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(line("web-1", old))
    known = KnownHosts()
    assert known.keys(str(path), "web-1") == {old.get_name(): old}
    first = known._files[str(path)]
    assert known.keys(str(path), "web-1") == {old.get_name(): old}
    assert known._files[str(path)] is first  # parsed once
    replacement = tmp_path / "known_hosts.new"
    replacement.write_text(line("web-1", new))
    os.replace(replacement, path)  # how a key rotation lands: a new file
    assert known.keys(str(path), "web-1") == {new.get_name(): new}


def test_a_client_trusts_only_the_host_it_connects_to(tmp_path: Path) -> None:
    a, b = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(line("[127.0.0.1]:2201", a) + line("[127.0.0.1]:2202", b))
    client = paramiko.SSHClient()
    KnownHosts().trust(client, str(path), "[127.0.0.1]:2201")
    held = client.get_host_keys()
    assert list(held.keys()) == ["[127.0.0.1]:2201"]
    assert held["[127.0.0.1]:2201"][a.get_name()] == a
