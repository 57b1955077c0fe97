"""The executor's connections share one Fabric Config: building one never writes to it (a
write from one thread while another read it failed that read, under a 200-host step)."""

from __future__ import annotations

import threading

import paramiko
from fabric import Config

from chatops.executors.connection import HostConnection


def build(config: Config, port: int) -> HostConnection:
    return HostConnection(
        "127.0.0.1",
        user="deploy",
        port=port,
        connect_timeout=5,
        connect_kwargs={"look_for_keys": False},
        config=config,
    )


def test_a_connection_keeps_its_settings_to_itself() -> None:
    config = Config(ssh_config=paramiko.SSHConfig())
    c = build(config, 2222)
    assert (c.host, c.user, c.port, c.connect_timeout) == ("127.0.0.1", "deploy", 2222, 5)
    # a write would be a modification, and the next read merges them all again
    assert config._modifications == {}  # Fabric's `inline_ssh_env` stayed on the connection
    assert c.inline_ssh_env is True


def test_many_threads_build_connections_on_one_config() -> None:
    config = Config(ssh_config=paramiko.SSHConfig())
    errors: list[BaseException] = []

    def many(offset: int) -> None:
        try:
            for i in range(200):
                assert build(config, 1000 + offset + i).port == 1000 + offset + i
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=many, args=(k * 1000,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
