"""`chatops standin`: the stand-in for Slack's Web API that the console and the tests use, as
a command, so `chatops serve` (its run page, `/insights`, `/api/v1`, `/mcp`) can be tried on
a fresh clone with no Slack account. It answers as Slack does, accepts any token, and prints
each call the bot makes (what Slack would show). `--background` leaves it running
(`.chatops/standin.pid`, its calls in `.chatops/standin.log`); `--stop` stops it."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from chatops.errors import ChatopsError

__all__ = ["cmd_standin", "said"]

HOME = Path(".chatops")
PID, LOG = HOME / "standin.pid", HOME / "standin.log"
TOKEN, SECRET = "xoxb-standin", "standin-signing-secret"  # for a stand-in only: never Slack's


def said(port: int) -> str:
    """What to set for `chatops serve` to use the stand-in on `port`."""
    api = f"http://127.0.0.1:{port}/api/"
    return (
        f"Slack stand-in: {api} (answers as Slack's Web API, on loopback only)\n"
        "For `chatops serve`, set:\n"
        f"  export CHATOPS_SLACK_API_URL={api} SLACK_BOT_TOKEN={TOKEN} "
        f"SLACK_SIGNING_SECRET={SECRET}\n"
        "then: chatops serve --http --port 3000"
    )


def cmd_standin(args: argparse.Namespace) -> int:
    if args.stop:
        return _stop()
    if args.background:
        return _background(args.port)
    return _foreground(args.port)


def _running() -> int | None:
    try:
        pid = int(PID.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop() -> int:
    pid = _running()
    if pid is None:
        print("the stand-in is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _running() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    PID.unlink(missing_ok=True)
    print(f"stopped the stand-in (pid {pid})")
    return 0


def _background(port: int) -> int:
    pid = _running()
    if pid is None:
        HOME.mkdir(exist_ok=True)
        with LOG.open("a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "chatops", "standin", "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not stopped by the terminal's Ctrl-C
            )
        deadline = time.monotonic() + 15
        while not _listening(port):
            if proc.poll() is not None:
                raise ChatopsError(f"the stand-in did not start (see {LOG}): port {port} in use?")
            if time.monotonic() > deadline:
                proc.terminate()
                raise ChatopsError(f"the stand-in did not listen on {port} within 15 s")
            time.sleep(0.05)
        PID.write_text(str(proc.pid))
        pid = proc.pid
    print(said(port))
    print(f"(pid {pid}; the bot's calls are logged to {LOG}; `chatops standin --stop` stops it)")
    return 0


def _foreground(port: int) -> int:
    from chatops.simulator.standin import SlackStandIn

    try:
        standin = SlackStandIn().start(port)
    except OSError as e:
        raise ChatopsError(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}") from None
    print(said(port), flush=True)
    print("(each call the bot makes is printed below; Ctrl-C stops)", flush=True)
    stop = threading.Event()

    def ask_to_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    shown = 0
    while not stop.wait(0.2):
        calls = standin.calls[shown:]
        shown += len(calls)
        for call in calls:
            print(_line(call.method, call.args, call.status), flush=True)
        if shown > 10_000:  # a long trial: what was printed need not be kept
            standin.forget_calls(shown)
            shown = 0
    standin.stop()
    return 0


def _line(method: str, args: dict[str, object], status: int) -> str:
    where = str(args.get("channel") or args.get("user_id") or args.get("user") or "")
    text = " ".join(str(args.get("text") or "").split())
    head = time.strftime("%H:%M:%S")
    failed = "" if status == 200 else f" -> HTTP {status}"
    return f"{head} {method} {where}{': ' + text[:100] if text else ''}{failed}".rstrip()
