"""Acks under load: 20 concurrent signed `/change` requests, each producing a real plan.

Two servers on loopback, each its own process: `chatops serve --http` and the anchor, a bare
slack-bolt AsyncApp on the same Starlette/uvicorn stack whose listener only acks. Bursts
alternate between them (interleaved, so noise hits both alike). Reported: ack latency p50
and p99 for each and their ratio, and for chatops the time from sending a request to its
plan being posted (the Web API stand-in records when). Goals (issue 9): ack p99 within 1.2x
the anchor; request -> plan posted p50 under 300 ms.

    .venv/bin/python bench/ack_bench.py [--rounds 15] [--burst 20]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.simulator.standin import SlackStandIn  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-000000000000-000000000000-benchbenchbenchbenchbench"
CONFIG = """\
services:
  web:
    app_dir: /srv/web
    manager: {type: pm2, name: web}
    logs: {type: file, paths: ["/srv/web/out.log"], error_paths: ["/srv/web/err.log"]}
    health: {url: "http://127.0.0.1:9/health"}
    environments:
      production:
        hosts: [{name: web-1, address: 127.0.0.1}]
roles:
  coder: {users: [U_CODER]}
  lead: {users: [U_LEAD]}
  requester: {users: [U_CODER]}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def signed(text: str, trigger: str) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode(
        {
            "token": "unused",
            "team_id": "T0BENCH",
            "channel_id": "C0BENCH",
            "user_id": "U_CODER",
            "command": "/change",
            "text": text,
            "api_app_id": "A0BENCH",
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": trigger,
        }
    ).encode()
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={sig}",
    }


def burst(port: int, tag: str, n: int) -> list[tuple[str, float, float]]:
    """n requests at once; (marker, sent at, acked at) each, in monotonic seconds."""
    start = threading.Barrier(n)
    out: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        marker = f"{tag}-{i}"
        body, headers = signed(f"deploy web -- {marker}", f"trigger-{marker}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        start.wait()
        sent = time.monotonic()
        conn.request("POST", "/slack/events", body, headers)
        resp = conn.getresponse()
        resp.read()
        acked = time.monotonic()
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"{marker}: HTTP {resp.status}")
        with lock:
            out.append((marker, sent, acked))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def posted_at(standin: SlackStandIn, markers: set[str], timeout: float = 60) -> dict[str, float]:
    """When each marker's plan message reached the stand-in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {}
        for call in standin.calls_to("chat.postMessage"):
            if call.args.get("thread_ts"):
                continue
            text = json.dumps(call.args)
            for m in markers:
                if m + '"' in text or m + "\\" in text or m + " " in text:
                    found.setdefault(m, call.at)
        if len(found) == len(markers):
            return found
        time.sleep(0.02)
    said = [c.args.get("text", "")[:200] for c in standin.calls_to("chat.postEphemeral")]
    raise TimeoutError(f"{sorted(markers - set(found))} were not posted; ephemerals: {said[-3:]}")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--burst", type=int, default=20)
    args = ap.parse_args()
    standin = SlackStandIn().start()
    tmp = Path(tempfile.mkdtemp(prefix="chatops-ack-"))
    (tmp / "chatops.yml").write_text(CONFIG)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "CHATOPS_SLACK_API_URL": standin.api_url,
        "CHATOPS_CONFIG": str(tmp / "chatops.yml"),
        "CHATOPS_COMMANDS": str(ROOT / "commands"),
        "CHATOPS_DATABASE_URL": f"sqlite:///{tmp / 'chatops.db'}",
        "CHATOPS_LOG_LEVEL": "WARNING",
    }
    ours, bare = free_port(), free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(ours)],
            env=env,
            cwd=tmp,
        ),
        subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "bare_bolt.py"), str(bare)], env=env
        ),
    ]
    try:
        wait_port(ours)
        wait_port(bare)
        burst(bare, "warm-bare", 3)
        warm = burst(ours, "warm-ours", 3)
        posted_at(standin, {m for m, _, _ in warm})
        acks: dict[str, list[float]] = {"bare": [], "chatops": []}
        to_plan: list[float] = []
        for r in range(args.rounds):
            order = [("bare", bare), ("chatops", ours)]
            for name, port in order if r % 2 == 0 else order[::-1]:
                got = burst(port, f"r{r}-{name}", args.burst)
                acks[name] += [acked - sent for _, sent, acked in got]
                if name == "chatops":
                    when = posted_at(standin, {m for m, _, _ in got})
                    to_plan += [when[m] - sent for m, sent, _ in got]
                time.sleep(0.2)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        standin.stop()
    ms = 1000.0
    b50, b99 = pct(acks["bare"], 50) * ms, pct(acks["bare"], 99) * ms
    o50, o99 = pct(acks["chatops"], 50) * ms, pct(acks["chatops"], 99) * ms
    print(f"machine {platform.node()}, {os.cpu_count()} cores, {date.today()}")
    print(f"{args.rounds} interleaved bursts of {args.burst} concurrent signed /change")
    print(f"ack p50/p99   bare AsyncApp   {b50:7.1f} / {b99:7.1f} ms   (anchor)")
    print(f"ack p50/p99   chatops         {o50:7.1f} / {o99:7.1f} ms   p99 {o99 / b99:.2f}x")
    print(
        f"request -> plan posted  p50 {statistics.median(to_plan) * ms:.0f} ms, "
        f"p99 {pct(to_plan, 99) * ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
