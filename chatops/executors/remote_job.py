"""A remote command that outlives its SSH connection and leaves its own record on the host.

A lost connection says nothing about the command: it may have finished, failed, or still be
running. So over SSH the command is not tied to the channel. The shell `start` runs is the
command's supervisor: SIGHUP ignored, it starts the command under `timeout` with output to
`<job>.out` (input and output away from the channel), ignores SIGPIPE from then on, and
when the command ends writes its exit status to `<job>.exit`, in the host's job directory
(`~/.chatops/jobs`), whether the channel is still there or not. The channel only follows:
the shell prints `chatops-pid:N` (itself, the supervisor: the job has started) and streams
the output while the command runs, then exits with the command's own status. After a
dropped connection, `attach` from the byte already received reads what was missed, waits
for a command still running (its supervisor alive), and ends with its true status. Only a
job whose supervisor vanished without a status (the host rebooted) is unknown, and says so
with LOST. `kill` stops the command's process group (`timeout` leads it; its id is in
`<job>.pid`).

A job's record stays a week. Nothing on the host empties its output by itself: the shell
streaming it cannot know whether it arrived (in a network blip the channel looks open while
sshd buffers what never reaches the controller), so a follower attached again after the job
ended still reads all it missed. The controller says when it has received a job's end: the
next job it starts on that host carries the id (`forget`) and empties that output with the
shell's builtins. The status stays, so a controller that died between reading an end and
storing it learns the same end again. The host's first job of a day (UTC, a date in
`.swept`) removes the records a week old.

Every process costs the host a fork and an exec (about 1 ms of CPU each, and on a fleet of
hundreds that is the step's cost): the shell's builtins do what they can. A job started is
the login shell, `/bin/sh` (the supervisor), `timeout`, the command's `/bin/sh` and `tail`.

Jobs started by earlier versions kept their files in a directory of their own
(`<job>/out`, ...): `attach`, `status` and `kill` still find them, and `forget` removes it.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterable

from chatops.executors.wrapper import KILL_GRACE

JOBS = "$HOME/.chatops/jobs"
LOST = 255  # the attach's exit status when no status was written (checked with `status`)
POLL = 0.02  # how often a follower looks whether the command (or its supervisor) has ended
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")


def job_dir(job: str) -> str:
    """Where the job's files are (their names are this and a suffix)."""
    if not _ID.fullmatch(job):
        raise ValueError(f"bad job id {job!r}")
    return f"{JOBS}/{job}"


def _files(job: str) -> str:
    """Sets `f`, the prefix of the job's files: `<job>.` (or `<job>/` for an older job)."""
    d = job_dir(job)
    return f'f="{d}."; [ -d "{d}" ] && f="{d}/"; '


def start(job: str, command: str, timeout: float, forget: Iterable[str] = ()) -> str:
    """The command line that starts the job and follows it (see the module docstring); the
    outputs of the jobs in `forget` (their ends received) are emptied first, and the host's
    first job of a UTC day removes the records a week old."""
    secs = max(1, int(timeout))
    d = job_dir(job)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    script = (
        f"c={shlex.quote(command)}; "
        # `out` exists before the command starts, so the follower never finds it missing
        f'f="{d}."; [ -d "{JOBS}" ] || mkdir -p "{JOBS}" || exit {LOST}; '
        f': >"$f"out || exit {LOST}; ' + "".join(_forget(j) for j in forget) +
        # records nobody came back for, after a week: looked for once a day (`read` and
        # `[` are builtins; `find` runs only when the day changed)
        f'w=""; read w 2>/dev/null <"{JOBS}/.swept"; if [ "$w" != {day} ]; then '
        f'echo {day} >"{JOBS}/.swept"; '
        f'find "{JOBS}" -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {{}} + 2>/dev/null; fi; '
        # this shell supervises: it outlives the channel (no SIGHUP; SIGPIPE ignored once the
        # command has started, so only the follower and this shell's own prints are spared)
        "trap '' HUP; "
        f'timeout --kill-after={KILL_GRACE}s {secs}s /bin/sh -c "$c" >"$f"out 2>&1 </dev/null & '
        "p=$!; trap '' PIPE; s=$$; "
        'echo $p >"$f"pid; echo $s >"$f"sup; echo "chatops-pid:$s"; '
        f'tail -c +1 -s {POLL} -f --pid="$p" "$f"out 2>/dev/null; '
        'wait "$p"; echo $? >"$f"exit; ' + _ended()
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def attach(job: str, offset: int) -> str:
    """Follow a started job again from byte `offset` of its output."""
    script = (
        _files(job)
        + f'[ -e "$f"out ] || exit {LOST}; '
        + 's=0; read s 2>/dev/null <"$f"sup; echo "chatops-pid:$s"; '
        + _follow(offset)
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def _follow(offset: int) -> str:
    """Stream `out` from byte offset+1 until the supervisor has ended, then exit with the
    command's status, or LOST if it wrote none."""
    return (
        # no supervisor on record (0 is this shell's own group to `kill -0`): no following
        f'if [ "$s" -gt 1 ] 2>/dev/null; then tail -c +{int(offset) + 1} -s {POLL} -f --pid="$s" '
        f'"$f"out 2>/dev/null; else tail -c +{int(offset) + 1} "$f"out 2>/dev/null; fi; ' + _ended()
    )


def _ended() -> str:
    """Exit with the status on record, or LOST if there is none. The output stays: only the
    controller knows it has received all of it (`forget`)."""
    return f'x=""; read x 2>/dev/null <"$f"exit; [ -n "$x" ] && exit "$x"; exit {LOST}'


def _forget(job: str) -> str:
    """Empties a job's output, its end received (an earlier version's directory goes)."""
    d = job_dir(job)
    return f'if [ -d "{d}" ]; then rm -rf "{d}"; elif [ -s "{d}.out" ]; then : >"{d}.out"; fi; '


def status(job: str) -> str:
    """Prints the job's state: `exit N`, `running`, or `lost` (no job, no supervisor)."""
    script = (
        _files(job) + 'x=""; read x 2>/dev/null <"$f"exit; s=""; read s 2>/dev/null <"$f"sup; '
        'p=""; read p 2>/dev/null <"$f"pid; '
        'if [ -n "$x" ]; then echo "exit $x"; '
        'elif [ -n "$s" ] && kill -0 "$s" 2>/dev/null; then echo running; '
        'elif [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo running; '
        "else echo lost; fi"
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def kill(job: str, grace: float = 2.0) -> str:
    """Stop the job's command: SIGTERM to its process group, SIGKILL after `grace` seconds.
    A job that has just started may not have written its group's id yet: wait for it (5 s
    at most); a job already ended is left alone."""
    script = (
        _files(job) + 'p=""; i=0; while [ -e "$f"out ] && [ $i -lt 50 ]; do '
        'read p 2>/dev/null <"$f"pid; [ -n "$p" ] && break; sleep 0.1; i=$((i+1)); done; '
        '[ -n "$p" ] && [ "$p" -gt 1 ] || exit 0; '
        # dash's `kill` takes no `--`: a negative id after the signal is a group
        f'kill -TERM "-$p" 2>/dev/null; sleep {grace:g}; kill -KILL "-$p" 2>/dev/null; true'
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def new_id(prefix: str = "job") -> str:
    """A job id unique enough per host: time and a random tail."""
    import secrets

    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(6)}"
