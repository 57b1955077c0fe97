"""Manage the demo app like PM2 would: status, start, stop, restart. Run in the app's folder.

python democtl.py status|start|stop|restart PORT
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PID = Path(".chatops/pid")
APP = Path(__file__).with_name("demoapp.py")


def running() -> int | None:
    try:
        pid = int(PID.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if _zombie(pid):  # exited; its new parent (whatever runs as PID 1) has yet to reap it
        return None
    return pid


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc here: kill(pid, 0) is all there is to go by
    return stat.rpartition(")")[2].split()[0] == "Z"


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop() -> None:
    pid = running()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if running() is None:
            break
        time.sleep(0.1)
    PID.unlink(missing_ok=True)


def start(port: int) -> int:
    PID.parent.mkdir(exist_ok=True)
    Path("logs").mkdir(exist_ok=True)
    with open("logs/demo-out.log", "a") as out, open("logs/demo-error.log", "a") as err:
        proc = subprocess.Popen(
            [sys.executable, str(APP), str(port)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # it outlives the command that started it, like a daemon
        )
    PID.write_text(str(proc.pid))
    for _ in range(100):
        if listening(port):
            return proc.pid
        if proc.poll() is not None:
            raise SystemExit(f"the app exited at start (code {proc.returncode})")
        time.sleep(0.05)
    raise SystemExit(f"the app does not listen on port {port}")


def main(argv: list[str]) -> int:
    verb, port = argv[0], int(argv[1])
    version = Path("VERSION").read_text().strip() if Path("VERSION").exists() else "?"
    if verb == "status":
        pid = running()
        print(f"online {version} pid {pid}" if pid else "stopped")
        return 0
    if verb in ("stop", "restart"):
        stop()
    if verb in ("start", "restart"):
        print(f"online {version} pid {start(port)}")
    else:
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
