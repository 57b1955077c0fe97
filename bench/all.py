"""Every benchmark, one after another: `.venv/bin/python bench/all.py [names...]`.

Each runs in a process of its own and measures against its anchor in the same run (bare
Python start-up, a bare slack-bolt AsyncApp, Fabric's ThreadingGroup, an instant Slack).
The figures, with machine and date, go to bench/README.md. Exit status 1 if any failed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "engine": "plans rendered and hashed, runs claimed, requests stored as plans",
    "cli": "CLI start-up against bare Python",
    "ack": "acks of 20 concurrent /change against a bare bolt AsyncApp; request -> plan posted",
    "slack": "a step printing 100k lines with an instant and a slow Slack",
    "ssh": "one step on 50 loopback hosts against Fabric's ThreadingGroup",
    "output": "serve's peak memory for a 20 MB line against 100 KB of output",
    "incident": "ten runs in one channel against Slack's rate limits, and without them",
    "web": "a page of a 200k-line output, and a search, against bare Python",
    "waits": "500 agents' waits at once: /healthz and a run page against an idle serve",
    "soak": "500 runs through serve: RSS per 100 runs, a run's end to its thread (idle anchor)",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown: {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    print(f"# machine {platform.node()}, {os.cpu_count()} cores, {date.today()}\n")
    failed = []
    for name in names:
        print(f"## {name}: {BENCHES[name]}\n", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}_bench.py")])
        print(f"\n({name}: {time.monotonic() - start:.0f} s, exit {code})\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
