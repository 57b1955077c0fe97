"""A step printing 100k lines, with an instant Slack and with one whose every chat.update
takes 2 s: the run must finish as fast either way (Slack's consumers have threads of their
own), in few Slack calls, and in bounded memory. The anchor is the instant-Slack run.

Goals: slow/instant <= 1.2x; <= 80 Slack calls for the run's thread; RSS <= 150 MB.

    .venv/bin/python bench/slack_bench.py
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.engine.domain.run import RunState  # noqa: E402
from chatops.simulator.harness import ChatHarness  # noqa: E402
from tests.apps import make_app, service_config, service_runbook  # noqa: E402

LINES = int(os.environ.get("BENCH_LINES", "100000"))
PRINTER = service_runbook(
    "Print a lot",
    f"one step that prints {LINES} lines",
    f"  - {{id: print, kind: ssh, title: Print, run: 'seq 1 {LINES}', timeout: 300}}",
)


def one(base: Path, latency: float) -> tuple[float, int, float]:
    app = make_app(base / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    (base / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = base / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "printer.yml").write_text(PRINTER)
    with ChatHarness(
        config=base / "chatops.yml",
        commands=commands,
        database_url=f"sqlite:///{base / 'c.db'}",
    ) as slack:
        slack.standin.latency["chat.update"] = latency
        slack.command("/change", "printer web", user="U_CODER")
        slack.settle()
        store = slack.wired.queries
        before = len(slack.standin.calls)
        started = time.perf_counter()
        slack.click("chatops.approve", user="U_LEAD")
        deadline = time.monotonic() + 300
        while store.get_run(1).state not in (RunState.SUCCEEDED, RunState.FAILED):
            if time.monotonic() > deadline:
                raise SystemExit(f"run 1 is {store.get_run(1).state}: {slack.ephemerals('U_LEAD')}")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        slack.settle(timeout=600)  # Slack catches up, coalesced
        calls = len(slack.standin.calls) - before
        assert store.get_run(1).state == RunState.SUCCEEDED
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return elapsed, calls, rss


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fast = one(Path(tmp) / "instant", 0.0)
        slow = one(Path(tmp) / "slow", 2.0)
    print(
        f"{platform.node()} · {os.cpu_count()} cores · {datetime.now(UTC):%Y-%m-%d} · "
        f"a step printing {LINES} lines"
    )
    print(f"instant Slack (anchor)    run {fast[0]:6.2f} s  slack calls {fast[1]:4d}")
    print(
        f"chat.update takes 2 s     run {slow[0]:6.2f} s  slack calls {slow[1]:4d}  "
        f"ratio {slow[0] / fast[0]:.2f}x"
    )
    print(f"peak RSS of the process   {max(fast[2], slow[2]):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
