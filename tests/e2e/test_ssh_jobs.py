"""A command's job record on the host, on the real sshd: its output kept until the
controller's next command there says it was received, its status kept for a controller that
comes back, and the records a week old removed by a
host's first command of the day, not on every command (each costs the host a `find`)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatops.engine.planning.inventory import Host
from chatops.executors.ssh import SshExecutor
from tests.servers import Sshd

pytestmark = pytest.mark.sshd

JOBS = Path(os.path.expanduser("~")) / ".chatops" / "jobs"
WEEK_AND_A_DAY = 8 * 86400


def test_a_jobs_output_goes_once_received_and_its_end_stays_for_a_controller_that_died(
    sshd: Sshd,
) -> None:
    host = Host.model_validate(sshd.host())
    job = f"test-{secrets.token_hex(4)}"
    ex = SshExecutor()
    r = ex.run(host, "seq 1 3000; exit 3", timeout=20, on_output=print, job=job)
    assert r.exit_code == 3 and "3000" in r.tail
    # the controller died before it stored that end: the next one learns the same end
    again = SshExecutor().settle(host, job, timeout=20)
    assert again is not None and again.exit_code == 3 and again.outcome == "failed", again
    assert "3000" in again.tail  # nothing on the host emptied it before it was received
    assert ex.run(host, "true", timeout=20, on_output=print).ok
    assert (JOBS / f"{job}.out").stat().st_size == 0  # received and said so: not kept twice
    assert (JOBS / f"{job}.exit").read_text().strip() == "3"


@pytest.fixture
def lone() -> Iterator[tuple[str, Path]]:
    """A throwaway account (name, home) on this machine: its job records are its own, so
    no other test's command, on another worker, sweeps them or marks the day first."""
    if os.geteuid() != 0:
        pytest.skip("adding a throwaway account needs root")
    name = f"cs{secrets.token_hex(4)}"
    home = Path(tempfile.mkdtemp(prefix="chatops-lone-"))  # outside pytest's 0700 tree
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
        check=True,
    )
    subprocess.run(["usermod", "--password", "*", name], check=True)  # not locked: key login
    try:
        (home / ".chatops" / "jobs").mkdir(parents=True)
        yield name, home
    finally:
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_old_jobs_are_swept_by_the_hosts_first_command_of_the_day_only(
    sshd: Sshd, lone: tuple[str, Path]
) -> None:
    name, home = lone
    jobs = home / ".chatops" / "jobs"
    host = Host.model_validate(sshd.host(user=name))

    def run() -> None:
        r = SshExecutor().run(host, "true", timeout=20, on_output=print)
        assert r.ok, r

    def abandoned() -> Path:
        d = jobs / f"abandoned-{secrets.token_hex(4)}"
        d.mkdir()
        (d / "out").write_text("output nobody read\n")
        old = time.time() - WEEK_AND_A_DAY
        os.utime(d, (old, old))
        return d

    def yesterday() -> None:
        day = time.strftime("%Y-%m-%d\n", time.gmtime(time.time() - 86400))
        (jobs / ".swept").write_text(day)

    def owned() -> None:  # made here as root, the account's own on the host
        subprocess.run(["chown", "-R", f"{name}:", str(home)], check=True)

    yesterday()
    first = abandoned()
    owned()
    run()
    assert not first.exists()  # the day's first command to the host swept it
    second = abandoned()
    owned()
    run()
    assert second.exists()  # not again the same day, whichever process asks
    yesterday()  # a day later
    run()
    assert not second.exists()


def test_a_job_an_earlier_version_started_is_still_settled(sshd: Sshd) -> None:
    """Earlier versions kept a job's files in a directory of its own: after an upgrade the
    new controller still learns how such a job ended, and removes its record."""
    job = f"older-{secrets.token_hex(4)}"
    d = JOBS / job
    d.mkdir(parents=True)
    (d / "out").write_text("migrated 3 tables\n")
    (d / "exit").write_text("4\n")
    (d / "sup").write_text("0\n")  # its supervisor is gone
    ex, host = SshExecutor(), Host.model_validate(sshd.host())
    r = ex.settle(host, job, timeout=20)
    assert r is not None and r.exit_code == 4 and not r.ok, r
    assert "migrated 3 tables" in r.tail
    assert ex.run(host, "true", timeout=20, on_output=print).ok
    assert not d.exists()


def test_a_failed_commands_status_is_kept_its_output_emptied_by_the_next(sshd: Sshd) -> None:
    job = f"fails-{secrets.token_hex(4)}"
    ex, host = SshExecutor(), Host.model_validate(sshd.host())
    r = ex.run(host, "echo out; exit 7", timeout=20, on_output=print, job=job)
    assert r.exit_code == 7 and "out" in r.tail
    assert (JOBS / f"{job}.out").read_text() == "out\n"
    # within a session too: the next command on the kept connection carries the id
    ex.run(host, "true", timeout=20, on_output=print, session="s")
    ex.close_session("s")
    assert (JOBS / f"{job}.out").stat().st_size == 0
    assert (JOBS / f"{job}.exit").read_text().strip() == "7"
