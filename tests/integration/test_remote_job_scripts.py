"""The job scripts of `remote_job`, run by the real /bin/sh without sshd: what a follower
attached again reads when the channel that streamed the job went away in either of the two
ways a network has (closed, or silent while sshd kept buffering), and what `forget` empties."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from chatops.executors import remote_job


def _sh(line: str, home: Path, **kw: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.Popen(line, shell=True, env=env, **kw)  # type: ignore[call-overload]


def _until(path: Path, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.02)


def _started(home: Path, job: str, command: str) -> tuple[subprocess.Popen[bytes], bytes]:
    """The job started, its follower's output read up to the first line of the command."""
    p = _sh(remote_job.start(job, command, 20), home, stdout=subprocess.PIPE)
    assert p.stdout is not None
    assert p.stdout.readline().startswith(b"chatops-pid:")
    return p, p.stdout.readline()


def _attached(home: Path, job: str, offset: int) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "HOME": str(home)}
    line = remote_job.attach(job, offset)
    return subprocess.run(line, shell=True, env=env, capture_output=True, timeout=30, check=False)


@pytest.mark.parametrize("channel", ["closed", "silent"])
def test_a_follower_attached_after_the_end_reads_all_it_missed(
    tmp_path: Path, channel: str
) -> None:
    job = "job-gone-" + channel
    p, first = _started(tmp_path, job, "echo first; sleep 0.3; echo last words; exit 4")
    assert first == b"first\n"
    assert p.stdout is not None
    if channel == "closed":
        p.stdout.close()  # sshd tore the session down: the streaming `tail` meets EPIPE
    # "silent": nobody reads, the pipe takes what the streaming shell writes, as sshd
    # buffers it in a blip; either way the job ends with the controller away
    exit_file = tmp_path / ".chatops" / "jobs" / f"{job}.exit"
    _until(exit_file)
    p.wait(timeout=20)
    again = _attached(tmp_path, job, len(first))
    assert again.stdout.endswith(b"last words\n"), again
    assert again.returncode == 4
    if channel == "silent":
        assert p.stdout.read() == b"last words\n"  # the first follower's copy, never received


def test_forget_empties_an_output_received_and_keeps_its_status(tmp_path: Path) -> None:
    done, _ = _started(tmp_path, "job-done", "echo all of it; exit 3")
    assert done.wait(timeout=20) == 3
    jobs = tmp_path / ".chatops" / "jobs"
    assert (jobs / "job-done.out").read_text() == "all of it\n"  # kept until the controller says
    older = jobs / "job-older"  # an earlier version's record: a directory
    older.mkdir()
    (older / "out").write_text("x\n")
    nxt = _sh(remote_job.start("job-next", "true", 20, ["job-done", "job-older"]), tmp_path)
    assert nxt.wait(timeout=20) == 0
    assert (jobs / "job-done.out").stat().st_size == 0
    assert (jobs / "job-done.exit").read_text() == "3\n"
    assert not older.exists()
    assert (jobs / "job-next.out").exists()  # its own record is not among those forgotten
    with pytest.raises(ValueError):
        remote_job.start("job-x", "true", 20, ["../../etc"])  # ids are checked, never pasted
