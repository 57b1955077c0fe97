"""Several processes racing to start the same queued run: exactly one starts it."""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import UTC, datetime
from typing import Any

from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from tests.factories import NOW, Each, plan_for, sql

RACERS = 4
ROUNDS = 3


def _racer(url: str, name: str, go: Any, start_at: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One process: in each round, once the run is queued, claim at the same instant."""
    runs = Each(sql(url), "runs")
    for _ in range(ROUNDS):
        go.wait()  # the round's run is queued
        while time.time() < start_at.value:  # every racer claims at the same moment
            pass
        got = runs.claim_next(name, datetime.now(UTC))
        out.put((name, got.id if got else None))


def test_exactly_one_process_starts_a_run(
    db_url: str, runbooks: dict[str, Runbook], config: Config
) -> None:
    tx = sql(db_url)
    plans, runs = Each(tx, "plans"), Each(tx, "runs")
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    go = ctx.Barrier(RACERS + 1)
    start_at = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(target=_racer, args=(db_url, f"p{i}", go, start_at, out)) for i in range(RACERS)
    ]
    for p in procs:
        p.start()
    try:
        for round_ in range(ROUNDS):
            plan = plan_for(runbooks, config)
            plans.add(plan.model_copy(update={"task_id": f"race-{round_}"}))
            run = runs.create(plans.get(f"race-{round_}"), RunState.QUEUED, NOW)
            start_at.value = time.time() + 0.2
            go.wait(timeout=60)
            results = [out.get(timeout=60) for _ in procs]
            winners = [name for name, got in results if got == run.id]
            assert len(winners) == 1, results
            assert all(got is None for name, got in results if name not in winners)
            final = runs.get(run.id)
            assert final.state == RunState.RUNNING and final.owner == winners[0]
            runs.transition(run.id, RunState.SUCCEEDED, NOW)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
