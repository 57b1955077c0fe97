"""Rolling deploys, planned: the steps marked `hosts: rolling` are laid out batch by batch
(an optional canary host alone first), with a gate or a pause between batches. Every
batch's step is a step of the plan, with its own hosts and rollback, so people see and
approve exactly what will run, and a failure rolls back only the hosts already done.
"""

from __future__ import annotations

from chatops.engine.planning.plan import PlannedStep
from chatops.engine.planning.runbook import Rolling

__all__ = ["batches", "expand"]


def batches(hosts: list[str], rolling: Rolling) -> list[list[str]]:
    rest = list(hosts)
    out: list[list[str]] = []
    if rolling.canary and len(rest) > 1:
        out.append([rest.pop(0)])
    size = max(1, rolling.count(rolling.batch, len(hosts), 1))
    while rest:
        out.append(rest[:size])
        rest = rest[size:]
    return out


def expand(steps: list[PlannedStep], rolling: Rolling) -> list[PlannedStep]:
    """The plan's steps with each group of consecutive rolling steps laid out by batch."""
    out: list[PlannedStep] = []
    i = 0
    while i < len(steps):
        if steps[i].hosts != "rolling":
            out.append(steps[i])
            i += 1
            continue
        j = i
        while j < len(steps) and steps[j].hosts == "rolling":
            j += 1
        out.extend(_group(steps[i:j], rolling))
        i = j
    return out


def _group(group: list[PlannedStep], rolling: Rolling) -> list[PlannedStep]:
    hosts = list(dict.fromkeys(c.host for s in group for c in s.commands))
    if not hosts:
        return [s.model_copy(update={"hosts": "parallel"}) for s in group]
    tolerated = rolling.count(rolling.max_failures, len(hosts), 0)
    plan_batches = batches(hosts, rolling)
    n = len(plan_batches)
    out: list[PlannedStep] = []
    for b, members in enumerate(plan_batches, start=1):
        label = f"{b}/{n}"
        where = ", ".join(members) if len(members) <= 3 else f"{members[0]} +{len(members) - 1}"
        canary = " (canary)" if rolling.canary and b == 1 and n > 1 else ""
        for k, step in enumerate(group):
            last = k == len(group) - 1
            out.append(
                step.model_copy(
                    update={
                        "id": f"{step.id}@{b}",
                        "title": f"{step.title} [batch {label}{canary}: {where}]"[:150],
                        "hosts": "parallel",
                        "commands": [c for c in step.commands if c.host in members],
                        "rollback": [c for c in step.rollback if c.host in members],
                        "on_failure": "continue" if tolerated else step.on_failure,
                        "batch": label,
                        "max_failures": tolerated if last else None,
                    }
                )
            )
        between = _between(b, n, where, rolling) if b < n else None
        if between is not None:
            out.append(between)
    return out


def _between(b: int, n: int, where: str, rolling: Rolling) -> PlannedStep | None:
    nxt = f"batch {b + 1}/{n}"
    if rolling.between == "gate":
        return PlannedStep(
            id=f"batch-{b}-done",
            title=f"Batch {b}/{n} ({where}) is done and healthy: go on with {nxt}",
            kind="gate",
            purpose="verify",
            roles=list(rolling.gate_roles),
        )
    if rolling.between == "pause":
        return PlannedStep(
            id=f"batch-{b}-pause",
            title=f"Watch batch {b}/{n} for {rolling.pause} s before {nxt}",
            kind="pause",
            purpose="verify",
            timeout=rolling.pause,
        )
    return None
