"""How fast the engine renders and hashes plans, and how fast the store claims runs.

Goals (on the 2-core reference machine): a plan for a 10-host service renders and hashes in
under 5 ms; the SQLite store claims and finishes 200 queued runs in under 10 s.

    .venv/bin/python bench/engine_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.adapters.clock import ManualClock  # noqa: E402
from chatops.adapters.config_files import load_runbooks  # noqa: E402
from chatops.engine.approvals.changes import ChangeService  # noqa: E402
from chatops.engine.domain.events import RunFinished  # noqa: E402
from chatops.engine.domain.roles import Roles  # noqa: E402
from chatops.engine.domain.run import RunState  # noqa: E402
from chatops.engine.planning.config import Config  # noqa: E402
from chatops.engine.planning.planner import build_plan  # noqa: E402
from chatops.store.db import make_engine, upgrade  # noqa: E402
from chatops.store.transaction import sql_transactions  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def config(hosts: int) -> Config:
    return Config.model_validate(
        {
            "services": {
                "web": {
                    "app_dir": "/srv/web",
                    "install": "npm ci",
                    "manager": {"type": "pm2", "name": "web"},
                    "logs": {"type": "file", "paths": ["/srv/web/logs/out.log"]},
                    "health": {"url": "http://127.0.0.1:8080/health"},
                    "environments": {
                        "production": {
                            "hosts": [
                                {"name": f"web-{i}", "address": f"10.0.0.{i + 1}"}
                                for i in range(hosts)
                            ]
                        }
                    },
                }
            },
            "roles": {"coder": {"users": ["U"]}, "requester": {"users": ["U"]}},
        }
    )


def bench_plans(n: int = 300) -> float:
    books = load_runbooks(ROOT / "commands")
    cfg = config(10)
    times = []
    for i in range(n):
        t = time.perf_counter()
        plan = build_plan(
            books["deploy"], cfg, {"service": "web", "ref": f"v{i}"}, requester="U", now=NOW
        )
        _ = plan.sha256
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def bench_claims(n: int = 200) -> float:
    books = load_runbooks(ROOT / "commands")
    cfg = config(1)
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db"
        upgrade(url)
        tx = sql_transactions(make_engine(url), ManualClock(NOW))
        for i in range(n):
            plan = build_plan(
                books["deploy"],
                cfg,
                {"service": "web", "ref": f"v{i}"},
                requester="U",
                now=NOW,
                task_id=f"b-{i}",
            )
            with tx() as t:
                t.plans.add(plan)
                t.runs.create(plan, RunState.QUEUED, NOW)
                t.commit()
        start = time.perf_counter()
        done = 0
        while True:
            with tx() as t:  # a claim, then the run's end and its event, as the runner does
                run = t.runs.claim_next("bench", NOW)
                if run is None:
                    break
                t.commit()
            with tx() as t:
                t.runs.transition(run.id, RunState.SUCCEEDED, NOW)
                t.events.add(RunFinished(t.runs.get(run.id), RunState.SUCCEEDED))
                t.commit()
            done += 1
        assert done == n
        return time.perf_counter() - start


def bench_requests(n: int = 200) -> float:
    """Requests through the change service on SQLite: plan built, judged, stored, run row,
    audit row and event in one transaction each. Returns plans per second."""
    books = load_runbooks(ROOT / "commands")
    cfg = config(10)
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db"
        upgrade(url)
        clock = ManualClock(NOW)
        tx = sql_transactions(make_engine(url), clock)
        changes = ChangeService(cfg, books, tx, clock, Roles(cfg))
        start = time.perf_counter()
        for i in range(n):
            changes.request("deploy", {"service": "web", "ref": f"v{i}"}, requester="U")
        return n / (time.perf_counter() - start)


if __name__ == "__main__":
    ms = bench_plans()
    print(f"plan render + sha256, 10 hosts: median {ms:.2f} ms (goal < 5 ms)")
    secs = bench_claims()
    print(f"claim + finish 200 runs on SQLite: {secs:.2f} s (goal < 10 s)")
    rate = bench_requests()
    print(f"requests -> stored plans on SQLite, 10 hosts: {rate:.0f} plans/s")
