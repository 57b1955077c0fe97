"""What a step's output costs the serving process in memory: `chatops serve --http` runs a
step printing one line of N MB with no newline (plus NULs and colour codes), the thread
gets its file; the process's peak RSS (VmHWM) is read at the end. The anchor is the same
serve printing 100 KB, in the same run.

Goal: serve grows at most 50 MB over the anchor for 20 MB of output.

    .venv/bin/python bench/output_bench.py
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.simulator.harness import BOT_TOKEN, SIGNING_SECRET, RemoteSlack  # noqa: E402
from chatops.simulator.standin import SlackStandIn  # noqa: E402
from tests.apps import make_app, service_config  # noqa: E402
from tests.servers import free_port, wait_port  # noqa: E402

NOISE = "printf 'a\\\\000b \\\\033[31mred\\\\033[0m\\\\n'"
PRINTER = (
    """\
kind: debug
title: Print a lot
description: one step that prints one long line
requesters: [coder]
approval: {{roles: [lead], quorum: 1}}
parameters:
  service: {{type: service}}
  environment: {{type: environment, default: production}}
steps:
  - id: print
    kind: ssh
    title: Print
    timeout: 300
"""
    + '    run: "'
    + NOISE
    + "; head -c {size} /dev/zero | tr '\\\\000' x\"\n"
)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one(base: Path, size: int) -> tuple[float, float]:
    app = make_app(base / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    (base / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = base / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "printer.yml").write_text(PRINTER.format(size=size))
    standin = SlackStandIn().start()
    port = free_port()
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(base / "chatops.yml"),
        CHATOPS_COMMANDS=str(commands),
        CHATOPS_DATABASE_URL=f"sqlite:///{base / 'c.db'}",
        CHATOPS_SLACK_API_URL=standin.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    env.pop("SLACK_APP_TOKEN", None)
    serve = subprocess.Popen(
        [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=60)
        slack = RemoteSlack(f"http://127.0.0.1:{port}", standin)
        slack.command("/change", "printer web", user="U_CODER")
        slack.settle(timeout=60)
        started = time.perf_counter()
        slack.click("chatops.approve", user="U_LEAD")
        deadline = time.monotonic() + 600
        while not any(m.files for m in standin.messages):
            if time.monotonic() > deadline:
                raise SystemExit("the output file never came")
            time.sleep(0.1)
        slack.settle(timeout=120)
        elapsed = time.perf_counter() - started
        return peak_rss_mb(serve.pid), elapsed
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        standin.stop()


def main() -> int:
    big = int(float(os.environ.get("BENCH_MB", "20")) * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        small_rss, small_s = one(Path(tmp) / "small", 100_000)
        big_rss, big_s = one(Path(tmp) / "big", big)
    grew = big_rss - small_rss
    print(f"machine {platform.node()} ({os.cpu_count()} cores), {datetime.now(UTC):%Y-%m-%d}")
    print(f"anchor, 100 KB of output: serve peak RSS {small_rss:.0f} MB ({small_s:.1f} s)")
    print(f"{big / 2**20:.0f} MB on one line: serve peak RSS {big_rss:.0f} MB ({big_s:.1f} s)")
    print(f"growth {grew:.0f} MB (goal <= 50 MB), ratio {big_rss / small_rss:.2f}x")
    return 0 if grew <= 50 else 1


if __name__ == "__main__":
    raise SystemExit(main())
