"""bench/ssh_contenders.py against the real sshd, on one host: a change to the executor, the
job or the engine must not leave the SSH benchmark broken until someone measures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import Sshd

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def work(sshd: Sshd, tmp_path: Path) -> Path:
    """What bench/ssh_bench.py writes for its contenders, for the session's one sshd."""
    host = {"address": sshd.address, "port": sshd.port, "user": sshd.user}
    (tmp_path / "hosts.json").write_text(json.dumps([host]))
    shutil.copy(sshd.key_file, tmp_path / "client_key")
    shutil.copy(sshd.known_hosts, tmp_path / "known_hosts")
    return tmp_path


def contender(name: str, work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ssh_contenders.py"), name, str(work), "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def measure(name: str, work: Path) -> dict[str, float]:
    out = contender(name, work)
    assert out.returncode == 0, out.stderr[-2000:]
    measured: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return measured


@pytest.mark.parametrize(
    "name", ["chatops", "fabric", "fabric-timeout", "paramiko-job", "handshake"]
)
def test_a_contender_runs_its_step_and_reports_what_it_measured(name: str, work: Path) -> None:
    got = measure(name, work)
    assert got["wall"] > 0 and got["cpu"] > 0 and got["rss_mb"] > 10
    if name == "chatops":  # and the next run, on the first one's connection
        assert got["warm"] > 0 and got["warm_cpu"] > 0


def test_a_contender_refuses_a_host_whose_key_known_hosts_does_not_hold(work: Path) -> None:
    (work / "known_hosts").write_text("")
    out = contender("paramiko-job", work)
    assert out.returncode != 0
    assert "not found in known_hosts" in out.stderr
