"""What concerns one person now: for the App Home."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.freezes import Freeze
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Approvals, Plans, PostMortemStore, Runs

__all__ = ["ACTIVE", "Overview", "overview"]

ACTIVE = (RunState.RUNNING, RunState.QUEUED, RunState.APPROVED)


@dataclass
class Overview:
    user: str
    roles: frozenset[str]
    now: datetime  # when it was read
    to_approve: list[tuple[RunView, Plan]] = field(default_factory=list)
    active: list[RunView] = field(default_factory=list)
    overdue: list[PostMortem] = field(default_factory=list)
    recent: list[RunView] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)


def overview(
    user: str,
    config: Config,
    runs: Runs,
    plans: Plans,
    approvals: Approvals,
    pms: PostMortemStore,
    roles: Roles,
    now: datetime,
    recent: int = 10,
) -> Overview:
    held = roles.of(user)
    out = Overview(user, held, now)
    latest = runs.list(limit=300)
    approved_by_user = approvals.approved_by(
        user, [r.id for r in latest]
    )  # one query, not one a run
    for run in latest:
        if run.state != RunState.AWAITING_APPROVAL:
            continue
        plan = plans.get(run.task_id)
        own = run.requester == user and plan.runbook not in config.policies.self_approve
        if own and config.policies.four_eyes:
            continue
        if not held & set(plan.approval.roles):
            continue
        if approved_by_user.get(run.id) == plan.sha256:
            continue
        out.to_approve.append((run, plan))
    out.active = [r for r in latest if r.state in ACTIVE]
    lead = "lead" in held
    out.overdue = [pm for pm in pms.pending() if pm.overdue(now) and (lead or user in pm.owners)]
    mine = {r.service for r in latest if r.requester == user and r.service}
    approved = {r.service for r in latest if r.service and r.id in approved_by_user}
    touched = mine | approved
    out.recent = [r for r in latest if r.service in touched][:recent]
    return out
