"""Twelve weeks of a team's changes, made through the engine over a real store (a fake
executor, a clock set back in time): deploys of two services, a person's step waited on
in each, some failing and rolled back, a hotfix after some. For the pages that show a
team's numbers (the insights page's screenshot, its charts)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.commands import MarkDone
from chatops.engine.runs.operations import Operations
from tests.factories import FakeExecutor, Rig, rig

SHIP = """\
kind: deploy
title: Ship
description: a deploy, a person's step then the machine's
requesters: [coder]
approval: {roles: [lead], quorum: 1}
parameters:
  service: {type: service}
  environment: {type: environment, default: production}
steps:
  - id: prepare
    kind: manual
    role: coder
    title: Tests pass and the change is pushed
  - id: ship
    kind: ssh
    title: Ship it
    run: echo shipping
    rollback:
      run: echo unshipped
"""
PATCH = SHIP.replace("kind: deploy", "kind: hotfix").replace("title: Ship\n", "title: Patch\n")
PATCH = PATCH.replace("requesters: [coder]", "requesters: [oncall]")


def seed_history(
    url: str, config: Config, runbooks: dict[str, Runbook], services: list[str], weeks: int = 12
) -> int:
    """Changes over the `weeks` before now, in the store at `url`; how many."""
    pick = random.Random(21)
    executor = FakeExecutor()
    r = rig(url, config, runbooks, executor=executor)
    ops = Operations(r.changes, r.runner)
    start = datetime.now(UTC) - timedelta(weeks=weeks)
    made = 0
    for day in range(weeks * 7 - 1):
        if pick.random() < 0.45:
            continue
        service = pick.choice(services)
        r.clock.set(start + timedelta(days=day, hours=9 + pick.random() * 6))
        failing = pick.random() < 0.18
        executor.rules[:] = [("echo shipping", 1, "boom\n")] if failing else []
        made += _change(r, ops, "ship", service, "U_CODER", pick)
        if failing or pick.random() < 0.08:  # restored by a hotfix, the same day
            executor.rules[:] = []
            r.clock.advance(timedelta(minutes=20 + pick.random() * 60))
            made += _change(r, ops, "patch", service, "U_ONCALL", pick)
    return made


def _change(
    r: Rig, ops: Operations, process: str, service: str, who: str, pick: random.Random
) -> int:
    asked = r.changes.request(process, {"service": service}, requester=who)
    run_id = asked.run.id
    r.clock.advance(timedelta(minutes=5 + pick.random() * 120))  # the lead looks
    r.approve_all(run_id, "U_LEAD")
    r.runner.drain()  # to the person's step
    r.clock.advance(timedelta(minutes=2 + pick.random() * 40))
    ops.handle(MarkDone(run_id, "prepare", who if process == "ship" else "U_CODER"))
    r.runner.drain()
    return 1
