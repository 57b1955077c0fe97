"""An incident: ten runs started at once in one channel, each printing 3000 lines, against a
Web API stand-in that enforces Slack's limits (Tier 3 at 50 a minute, burst 20;
chat.postMessage one a second per channel, burst 4) and answers 429 with Retry-After past
them. The anchor is the same ten runs against a Slack without limits, in the same process.

Goals (issue 18): every run's final status, summary and plan outcome in Slack within 60 s of
the run's end (p100); no identical re-sends; at most 10 429s in all; a run alone no slower
than without limits.

    .venv/bin/python bench/incident_bench.py [--runs 10] [--lines 3000] [--plot bench/incident.png]

The plot (matplotlib, the `bench` extra) shows calls per method per second and when each
run's end reached Slack.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.engine.domain.run import RunState  # noqa: E402
from chatops.simulator.harness import ChatHarness  # noqa: E402
from chatops.simulator.ratelimits import Limits  # noqa: E402
from chatops.simulator.standin import SlackStandIn  # noqa: E402
from tests.apps import make_app, service_config, service_runbook  # noqa: E402


def printer(lines: int) -> str:
    every = max(lines // 30, 1)  # about 15 s of output, in bursts
    loop = f"for i in $(seq 1 {lines}); do echo line $i of the incident; "
    loop += f"[ $((i % {every})) -eq 0 ] && sleep 0.5; done; true"
    return service_runbook(
        "Print a lot",
        f"three steps, the second prints {lines} lines",
        "  - {id: prepare, kind: ssh, title: Prepare, run: 'echo ready', timeout: 60}\n"
        f"  - {{id: print, kind: ssh, title: Print, run: '{loop}', timeout: 300}}\n"
        "  - {id: verify, kind: ssh, title: Verify, run: 'echo verified', timeout: 60}",
    )


@dataclass
class Outcome:
    runs: int
    ended: dict[int, float] = field(default_factory=dict)  # run id -> when the store said so
    shown: dict[int, float] = field(default_factory=dict)  # run id -> when Slack had it all
    missing: dict[int, list[str]] = field(default_factory=dict)
    pieces: dict[int, dict[str, float]] = field(default_factory=dict)  # run -> part -> when
    too_many: int = 0
    identical: int = 0
    still_started: int = 0
    uploads: int = 0
    calls: list[tuple[str, int, float]] = field(default_factory=list)
    t0: float = 0.0

    @property
    def lags(self) -> list[float]:
        return [self.shown[r] - self.ended[r] for r in self.ended if r in self.shown]


def one(base: Path, runs: int, lines: int, limits: bool, wait: float) -> Outcome:
    cfg: dict[str, Any] = {"services": {}, "roles": {}}
    for i in range(runs):
        app = make_app(base / f"app{i}")
        one_cfg = service_config(
            app, "http://127.0.0.1:9/health", [{"name": f"h{i}", "transport": "local"}]
        )
        cfg["services"][f"svc{i}"] = one_cfg["services"]["web"]  # type: ignore[index]
        cfg["roles"] = one_cfg["roles"]
    (base / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = base / "commands"
    shutil.copytree(ROOT / "commands", commands)
    (commands / "printer.yml").write_text(printer(lines))
    standin = SlackStandIn(limits=Limits() if limits else None).start()
    out = Outcome(runs)
    with ChatHarness(
        config=base / "chatops.yml",
        commands=commands,
        database_url=f"sqlite:///{base / 'c.db'}",
        standin=standin,
    ) as slack:
        for i in range(runs):
            slack.command("/change", f"printer svc{i}", user="U_CODER")
        deadline = time.monotonic() + 120
        while len(slack.plans()) < runs and time.monotonic() < deadline:
            time.sleep(0.05)
        plans = slack.plans()
        out.t0 = time.monotonic()
        for plan in plans:
            slack.click("chatops.approve", user="U_LEAD", message=plan)
        store = slack.wired.queries
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            now = time.monotonic()
            for run_id in range(1, runs + 1):
                if run_id not in out.ended and store.get_run(run_id).state.is_terminal:
                    out.ended[run_id] = now
                if run_id in out.ended and run_id not in out.shown:
                    left = _missing(slack, run_id)
                    got = out.pieces.setdefault(run_id, {})
                    for part in ("status", "summary", "plan"):
                        if part not in left:
                            got.setdefault(part, now - out.ended[run_id])
                    if not left:
                        out.shown[run_id] = now
            if len(out.shown) == runs:
                break
            time.sleep(0.05)
        for run_id in range(1, runs + 1):
            left = _missing(slack, run_id)
            if left:
                out.missing[run_id] = left
            assert store.get_run(run_id).state in (RunState.SUCCEEDED, RunState.FAILED)
        out.too_many = sum(1 for c in standin.calls if c.status == 429)
        out.identical = standin.identical
        out.uploads = len(
            [c for c in standin.calls_to("files.completeUploadExternal") if c.status == 200]
        )
        out.still_started = sum(
            1
            for m in standin.messages
            if m.thread_ts and ":arrow_forward:" in m.text and "started" in m.text
        )
        out.calls = [(c.method, c.status, c.at - out.t0) for c in standin.calls]
    return out


def _missing(slack: ChatHarness, run_id: int) -> list[str]:
    """What of the run's end Slack does not show yet: its status, its summary, its plan."""
    records = slack.services.records.get(run_id)
    if records is None:
        return ["no plan message"]
    run = slack.wired.queries.get_run(run_id)
    state = run.state.value
    left = []
    if records.status_ts is None:
        left.append("status")
    else:
        status = slack.standin.message(records.channel, records.status_ts)
        if f"Run #{run_id}: {state}" not in status.text:
            left.append("status")
    thread = slack.standin.thread(records.channel, records.plan_ts)
    if not any(m.broadcast and f"#{run_id}" in m.text for m in thread):
        left.append("summary")
    plan = slack.standin.message(records.channel, records.plan_ts)
    if state not in plan.all_text().lower():
        left.append("plan")
    return left


def plot(path: Path, limited: Outcome) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    end = max((t for _m, _s, t in limited.calls), default=1.0)
    seconds = range(int(end) + 2)
    methods = sorted({m for m, _s, _t in limited.calls})
    for method in methods:
        counts = [0] * len(seconds)
        for m, status, t in limited.calls:
            if m == method and status == 200 and t >= 0:
                counts[int(t)] += 1
        top.plot(list(seconds), counts, label=method, linewidth=1)
    limited_429 = [0] * len(seconds)
    for _m, status, t in limited.calls:
        if status == 429 and t >= 0:
            limited_429[int(t)] += 1
    top.bar(list(seconds), limited_429, color="red", alpha=0.5, label="429")
    top.set_ylabel("calls per second")
    top.legend(fontsize=7, ncol=3)
    top.set_title(f"{limited.runs} runs in one channel, Slack's limits enforced")
    for run_id, ended in sorted(limited.ended.items()):
        y = run_id
        bottom.plot([ended - limited.t0], [y], "ko", markersize=4)
        if run_id in limited.shown:
            bottom.plot([limited.shown[run_id] - limited.t0], [y], "g^", markersize=6)
            bottom.plot([ended - limited.t0, limited.shown[run_id] - limited.t0], [y, y], "g-")
    bottom.set_xlabel("seconds since the approvals")
    bottom.set_ylabel("run")
    bottom.set_title("run ended (dot) -> its status, summary and plan in Slack (triangle)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(name: str, o: Outcome) -> None:
    lags = o.lags
    worst = f"{max(lags):.1f} s" if lags else "-"
    print(
        f"{name:<24} shown {len(o.shown)}/{o.runs}  end->Slack p50 "
        f"{sorted(lags)[len(lags) // 2] if lags else float('nan'):.1f} s p100 {worst}  "
        f"429s {o.too_many}  identical {o.identical}  still 'started' {o.still_started}  "
        f"uploads {o.uploads}  calls {len(o.calls)}"
    )
    limited = sorted({m for m, status, _t in o.calls if status == 429})
    if limited:
        print(f"{'':<24} 429s for: {', '.join(limited)}")
    if os.environ.get("BENCH_PIECES"):
        for run_id, got in sorted(o.pieces.items()):
            print(f"{'':<24} run {run_id}: " + ", ".join(f"{k} +{v:.1f}s" for k, v in got.items()))
    if o.missing:
        print(f"{'':<24} missing: {o.missing}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--wait", type=float, default=300.0)
    ap.add_argument("--plot", type=Path, default=ROOT / "bench" / "incident.png")
    args = ap.parse_args()
    print(
        f"{platform.node()} · {os.cpu_count()} cores · {datetime.now(UTC):%Y-%m-%d} · "
        f"{args.runs} runs, {args.lines} lines each, one channel"
    )
    with tempfile.TemporaryDirectory() as tmp:
        free = one(Path(tmp) / "free", args.runs, args.lines, limits=False, wait=args.wait)
        report("Slack without limits", free)
        limited = one(Path(tmp) / "limited", args.runs, args.lines, limits=True, wait=args.wait)
        report("Slack's limits", limited)
        alone_free = one(Path(tmp) / "alone-free", 1, args.lines, limits=False, wait=args.wait)
        alone = one(Path(tmp) / "alone", 1, args.lines, limits=True, wait=args.wait)
    report("one run, no limits", alone_free)
    report("one run, limits", alone)
    a, b = alone_free.ended.get(1, 0) - alone_free.t0, alone.ended.get(1, 0) - alone.t0
    print(f"one run alone: approve -> end {b:.1f} s with limits, {a:.1f} s without ({b / a:.2f}x)")
    if args.plot:
        try:
            plot(args.plot, limited)
            print(f"timeline: {args.plot}")
        except ImportError:
            print("no plot: pip install -e '.[bench]' (matplotlib)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
