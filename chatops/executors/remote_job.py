"""A remote command that outlives its SSH connection and leaves its own record on the host.

A lost connection says nothing about the command: it may have finished, failed, or still be
running. So over SSH the command is not tied to the channel. `start` launches a supervisor
(detached: `nohup`, its own session) that runs the command under `timeout` with output to
`out` and, at its end, writes the exit status to `exit`, in a job directory on the host
(`~/.chatops/jobs/<id>`). The channel only follows: it prints `chatops-pid:N` (the command's
process group, which `timeout` leads) and streams `out` until the supervisor is gone, then
exits with the command's own status. After a dropped connection, `attach` from the byte
already received reads what was missed, waits for a command still running, and ends with
its true status. Only a job whose supervisor vanished without a status (the host rebooted)
is unknown, and says so with LOST.
"""

from __future__ import annotations

import re
import shlex
import time

from chatops.executors.wrapper import KILL_GRACE

JOBS = "$HOME/.chatops/jobs"
LOST = 255  # the attach's exit status when no status was written (checked with `status`)
_ID = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def job_dir(job: str) -> str:
    if not _ID.fullmatch(job):
        raise ValueError(f"bad job id {job!r}")
    return f"{JOBS}/{job}"


def start(job: str, command: str, timeout: float, sweep: bool = True) -> str:
    """The command line that starts the job and follows it (see the module docstring).
    `sweep`: also remove the jobs nobody came back for (a week old); the executor asks
    for it once a day a host, not on every command.

    Every process here costs the host a fork and an exec (about 1 ms of CPU each), so the
    shell's builtins do what they can: `read` instead of `cat`, the status files written
    straight (a reader waits for them to be non-empty, and one short write() lands whole),
    SIGHUP ignored by `trap` instead of `nohup`."""
    secs = max(1, int(timeout))
    d = job_dir(job)
    supervisor = (
        "trap '' HUP; echo $$ >\"$2/sup\"; "
        f'timeout --kill-after={KILL_GRACE}s {secs}s /bin/sh -c "$1" >"$2/out" 2>&1 </dev/null &'
        ' echo $! >"$2/pid"; wait $!; echo $? >"$2/exit"'
    )
    script = (
        # `out` exists before the supervisor starts, so the follower never finds it missing
        f'd="{d}"; mkdir -p "$d" && : >"$d/out" || exit {LOST}; '
        + (
            # jobs nobody came back for, after a week
            f'find "{JOBS}" -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {{}} + 2>/dev/null; '
            if sweep
            else ""
        )
        + f"setsid /bin/sh -c {shlex.quote(supervisor)} chatops-job {shlex.quote(command)}"
        ' "$d" >/dev/null 2>&1 </dev/null & '
        # the command's group id (timeout leads it), as soon as the supervisor wrote it
        'i=0; while [ ! -s "$d/pid" ] && [ $i -lt 1000 ]; do sleep 0.005; i=$((i+1)); done; '
        'p=0; read p <"$d/pid" 2>/dev/null; echo "chatops-pid:$p"; ' + _follow(0)
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def attach(job: str, offset: int) -> str:
    """Follow a started job again from byte `offset` of its output."""
    d = job_dir(job)
    script = (
        f'd="{d}"; [ -d "$d" ] || exit {LOST}; '
        + 'p=0; read p <"$d/pid" 2>/dev/null; echo "chatops-pid:$p"; '
        + _follow(offset)
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def _follow(offset: int) -> str:
    """Stream `out` from byte offset+1 until the supervisor has ended, then exit with the
    command's status (and forget the job), or LOST if it wrote none."""
    return (
        's=0; read s <"$d/sup" 2>/dev/null; '
        f'tail -c +{int(offset) + 1} -s 0.02 -f --pid="$s" "$d/out" 2>/dev/null; '
        'c=""; read c <"$d/exit" 2>/dev/null; '
        f'if [ -n "$c" ]; then rm -rf "$d"; exit "$c"; fi; exit {LOST}'
    )


def status(job: str) -> str:
    """Prints the job's state: `exit N`, `running`, or `lost` (no job, no supervisor)."""
    d = job_dir(job)
    script = (
        f'd="{d}"; c=""; read c <"$d/exit" 2>/dev/null; s=""; read s <"$d/sup" 2>/dev/null; '
        'if [ -n "$c" ]; then echo "exit $c"; '
        'elif [ -n "$s" ] && kill -0 "$s" 2>/dev/null; then echo running; '
        "else echo lost; fi"
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def new_id(prefix: str = "job") -> str:
    """A job id unique enough per host: time and a random tail."""
    import secrets

    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(6)}"
