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


def start(job: str, command: str, timeout: float) -> str:
    """The command line that starts the job and follows it (see the module docstring)."""
    secs = max(1, int(timeout))
    d = job_dir(job)
    supervisor = (
        'echo $$ >"$2/sup.tmp" && mv "$2/sup.tmp" "$2/sup"; '
        f'timeout --kill-after={KILL_GRACE}s {secs}s /bin/sh -c "$1" >"$2/out" 2>&1 </dev/null &'
        ' echo $! >"$2/pid.tmp" && mv "$2/pid.tmp" "$2/pid"; wait $!;'
        ' echo $? >"$2/exit.tmp" && mv "$2/exit.tmp" "$2/exit"'
    )
    script = (
        # `out` exists before the supervisor starts, so the follower never finds it missing
        f'd="{d}"; mkdir -p "$d" && : >"$d/out" || exit {LOST}; '
        # jobs nobody came back for, after a week
        f'find "{JOBS}" -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {{}} + 2>/dev/null; '
        f"nohup setsid /bin/sh -c {shlex.quote(supervisor)} chatops-job {shlex.quote(command)}"
        ' "$d" >/dev/null 2>&1 </dev/null & '
        # the command's group id (timeout leads it), as soon as the supervisor wrote it
        'i=0; while [ ! -s "$d/pid" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; '
        'echo "chatops-pid:$(cat "$d/pid" 2>/dev/null || echo 0)"; ' + _follow(0)
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def attach(job: str, offset: int) -> str:
    """Follow a started job again from byte `offset` of its output."""
    d = job_dir(job)
    script = (
        f'd="{d}"; [ -d "$d" ] || exit {LOST}; '
        + 'echo "chatops-pid:$(cat "$d/pid" 2>/dev/null || echo 0)"; '
        + _follow(offset)
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def _follow(offset: int) -> str:
    """Stream `out` from byte offset+1 until the supervisor has ended, then exit with the
    command's status (and forget the job), or LOST if it wrote none."""
    return (
        f'tail -c +{int(offset) + 1} -s 0.02 -f --pid="$(cat "$d/sup")" "$d/out" 2>/dev/null; '
        f'if [ -s "$d/exit" ]; then c=$(cat "$d/exit"); rm -rf "$d"; exit "$c"; fi; exit {LOST}'
    )


def status(job: str) -> str:
    """Prints the job's state: `exit N`, `running`, or `lost` (no job, no supervisor)."""
    d = job_dir(job)
    script = (
        f'd="{d}"; if [ -s "$d/exit" ]; then echo "exit $(cat "$d/exit")"; '
        'elif [ -s "$d/sup" ] && kill -0 "$(cat "$d/sup")" 2>/dev/null; then echo running; '
        "else echo lost; fi"
    )
    return f"/bin/sh -c {shlex.quote(script)}"


def new_id(prefix: str = "job") -> str:
    """A job id unique enough per host: time and a random tail."""
    import secrets

    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(6)}"
