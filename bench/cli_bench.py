"""How fast `chatops` starts: --help and the reading commands, against bare Python start-up
measured in the same run (the anchor; these machines are noisy, the ratio is what holds).

Goal (2-core reference machine): `chatops --help`, `runs`, `show`, `audit` and `check` each
start and answer within about 0.3 s.

    .venv/bin/python bench/cli_bench.py
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 9


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    chatops = [str(Path(sys.executable).parent / "chatops")]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "commands").symlink_to(ROOT / "commands")
        env_run = [*chatops, "init", "--dir", str(cwd / "demo")]
        subprocess.run(env_run, cwd=cwd, check=True, capture_output=True)
        try:
            subprocess.run(
                [
                    *chatops,
                    "run",
                    "deploy",
                    "demo",
                    "ref=v2",
                    "--as",
                    "alice",
                    "--here",
                    "--approve-as",
                    "bob",
                    "--manual-done",
                ],
                cwd=cwd,
                check=True,
                capture_output=True,
            )
            cases = {
                "python -c pass (anchor)": [sys.executable, "-c", "pass"],
                "chatops --help": [*chatops, "--help"],
                "chatops runs": [*chatops, "runs"],
                "chatops show 1": [*chatops, "show", "1"],
                "chatops audit 1": [*chatops, "audit", "1"],
                "chatops check": [*chatops, "check"],
                "chatops status demo (writes)": [*chatops, "status", "demo"],
            }
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(ROUNDS):  # interleaved, so noise hits every case alike
                for name, argv in cases.items():
                    times[name].append(timed(argv, cwd))
        finally:
            subprocess.run([*chatops, "demo", "--stop"], cwd=cwd, capture_output=True)
    anchor = statistics.median(times["python -c pass (anchor)"])
    print(f"{platform.node()} · {os.cpu_count()} cores · {datetime.now(UTC):%Y-%m-%d}")
    print(f"{'command':32} {'median':>8} {'ratio':>6}")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"{name:32} {m * 1000:7.0f}ms {m / anchor:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
