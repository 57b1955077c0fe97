"""A burst of connections against a real sshd whose MaxStartups admits one handshake at a
time: what it drops before its greeting is tried again with backoff, and every host is
reached; connections open at the process's pace."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatops.engine.planning.inventory import Host
from chatops.executors.pacing import OpenPace
from chatops.executors.ssh import SshExecutor
from tests.conftest import SSHD, need
from tests.servers import Sshd, run_sshd

BURST = 24


@pytest.fixture(scope="module")
def strict_sshd() -> Iterator[Sshd]:
    if not Path(SSHD).exists():
        need("OpenSSH server (/usr/sbin/sshd)", "apt-get install openssh-server")
    with run_sshd(max_startups="1") as server:  # one handshake at a time; the rest dropped
        yield server


def probe_all(ex: SshExecutor, host: Host) -> list[str]:
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return [r.outcome for r in pool.map(lambda _i: ex.probe(host), range(BURST))]


def test_a_burst_past_max_startups_is_retried_until_every_host_is_reached(
    strict_sshd: Sshd, caplog: pytest.LogCaptureFixture
) -> None:
    host = Host.model_validate(strict_sshd.host())
    ex = SshExecutor(connects_per_second=1000, retries=8)  # no pacing: the burst hits sshd
    with caplog.at_level(logging.INFO, logger="chatops.executors.ssh"):
        outcomes = probe_all(ex, host)
    assert outcomes == ["ok"] * BURST
    retried = [r for r in caplog.records if "dropped before the SSH greeting" in r.message]
    assert retried, "sshd dropped nothing: the burst did not reach MaxStartups"


def test_without_retries_the_same_burst_loses_hosts(strict_sshd: Sshd) -> None:
    host = Host.model_validate(strict_sshd.host())
    outcomes = probe_all(SshExecutor(connects_per_second=1000, retries=0), host)
    assert "ok" in outcomes and set(outcomes) - {"ok"}  # what the retries are for


def test_connections_open_at_the_process_pace() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pace = OpenPace(rate=10, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(12):
        pace.take()
    assert slept and abs(sum(slept) - 1.0) < 1e-9  # 2 at once, then 10 a second
