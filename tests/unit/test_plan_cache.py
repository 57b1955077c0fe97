"""Plans kept parsed for the live runs: bounded, the last used kept (serve's memory stays
flat over thousands of runs; bench/soak_bench.py)."""

from __future__ import annotations

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.queries import PLANS_KEPT
from tests.factories import rig
from tests.memory import MemoryDatabase


def test_plans_kept_are_bounded_and_the_last_used_stay(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    r = rig(MemoryDatabase(), config, runbooks)
    ids = []
    for i in range(PLANS_KEPT + 8):
        req = r.changes.request(
            "deploy", {"service": "eckwms-global", "ref": f"v{i}"}, requester="U_CODER"
        )
        ids.append(req.plan.task_id)
    first = ids[0]
    for task_id in ids:
        r.store.load_plan(task_id)
        r.store.load_plan(first)  # the live one: used all along
    kept = r.store._plans  # the bound is the point
    assert len(kept) == PLANS_KEPT
    assert first in kept and ids[-1] in kept and ids[1] not in kept
