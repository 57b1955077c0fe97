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
    assert not (JOBS / job).exists()


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
