"""A command's job record on the host, on the real sshd: gone once its end was read, and the
jobs nobody came back for (a week old) removed on a host's first command of the day, not
on every command (each costs the host a `find`)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from chatops.engine.planning.inventory import Host
from chatops.executors.ssh import SshExecutor
from tests.servers import Sshd

pytestmark = pytest.mark.sshd

JOBS = Path(os.path.expanduser("~")) / ".chatops" / "jobs"
WEEK_AND_A_DAY = 8 * 86400


def abandoned() -> Path:
    d = JOBS / f"abandoned-{secrets.token_hex(4)}"
    d.mkdir(parents=True)
    (d / "out").write_text("output nobody read\n")
    old = time.time() - WEEK_AND_A_DAY
    os.utime(d, (old, old))
    return d


def test_a_jobs_record_is_gone_after_its_end_was_read(sshd: Sshd) -> None:
    ex = SshExecutor()
    job = f"test-{secrets.token_hex(4)}"
    r = ex.run(Host.model_validate(sshd.host()), "echo hi", timeout=20, on_output=print, job=job)
    assert r.ok and r.exit_code == 0
    assert not (JOBS / job).exists() and not list(JOBS.glob(f"{job}.*"))


def test_old_jobs_are_swept_on_the_days_first_command_only(sshd: Sshd) -> None:
    ex = SshExecutor()
    host = Host.model_validate(sshd.host())
    first = abandoned()
    assert ex.run(host, "true", timeout=20, on_output=print).ok
    assert not first.exists()  # the first command to the host swept it
    second = abandoned()
    assert ex.run(host, "true", timeout=20, on_output=print).ok
    assert second.exists()  # not again the same day
    assert SshExecutor().run(host, "true", timeout=20, on_output=print).ok
    assert not second.exists()  # another process: its own first command sweeps


def test_a_job_an_earlier_version_started_is_still_settled(sshd: Sshd) -> None:
    """Earlier versions kept a job's files in a directory of its own: after an upgrade the
    new controller still learns how such a job ended, and removes its record."""
    job = f"older-{secrets.token_hex(4)}"
    d = JOBS / job
    d.mkdir(parents=True)
    (d / "out").write_text("migrated 3 tables\n")
    (d / "exit").write_text("4\n")
    (d / "sup").write_text("0\n")  # its supervisor is gone
    r = SshExecutor().settle(Host.model_validate(sshd.host()), job, timeout=20)
    assert r is not None and r.exit_code == 4 and not r.ok, r
    assert not d.exists()


def test_the_job_files_are_not_left_by_a_failed_command(sshd: Sshd) -> None:
    job = f"fails-{secrets.token_hex(4)}"
    r = SshExecutor().run(
        Host.model_validate(sshd.host()), "echo out; exit 7", timeout=20, on_output=print, job=job
    )
    assert r.exit_code == 7 and "out" in r.tail
    assert not list(JOBS.glob(f"{job}*"))
