"""Who must approve, per environment: rules by runbook and environment, the strictest of
those that apply winning (the runbook's own approval when none does), and a blast radius:
a plan over more hosts than one approval may cover in its environment needs one more.

A rule never waives the seed's delegation: a runbook that needs the Architect keeps
needing the Architect, whatever rule applies.
"""

from __future__ import annotations

from chatops.engine.planning.config import ApprovalRule, Config
from chatops.engine.planning.runbook import Approval, Runbook

__all__ = ["approval_for"]


def approval_for(
    runbook: Runbook, config: Config, environment: str | None, hosts: int
) -> tuple[Approval, str]:
    """The approval a plan needs, and why (the rule that applied, the blast radius)."""
    rules = [r for r in config.approval_rules if r.applies(runbook.name, environment)]
    if rules:
        rule = max(rules, key=ApprovalRule.strictness)
        roles = list(rule.roles)
        architect = rule.architect or runbook.approval.architect
        if architect and "architect" not in roles:
            roles.append("architect")
        approval = Approval(roles=roles, quorum=rule.quorum, architect=architect)
        why = f"rule '{rule.name}'"
    else:
        approval, why = runbook.approval, f"the {runbook.name} runbook"
    limit = config.policies.blast_radius.get(environment or "")
    if limit is not None and hosts > limit:
        approval = approval.model_copy(update={"quorum": min(10, approval.quorum + 1)})
        why += (
            f"; {hosts} hosts is more than the {limit} one approval may cover in "
            f"{environment}: one more approval"
        )
    return approval, why
