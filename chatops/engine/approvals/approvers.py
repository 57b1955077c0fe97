"""Who may approve a plan, as the roles are configured: four-eyes (the requester, and the
person an agent acts for, never approve their own plan), whether anyone could approve it at
all, and why a plan with open planning questions cannot be approved yet."""

from __future__ import annotations

from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan

__all__ = ["barred", "nobody_approves", "unanswered_refusal"]


def barred(config: Config, plan: Plan) -> set[str]:
    """The people four-eyes keeps from approving this plan."""
    if not config.policies.four_eyes or plan.runbook in config.policies.self_approve:
        return set()
    return {u for u in (plan.requester, plan.on_behalf_of) if u is not None}


def nobody_approves(config: Config, roles: Roles, plan: Plan, needed: int) -> str | None:
    """Why nobody could ever approve this plan, or None. Roles given as Slack groups may
    have members we cannot list: then we cannot tell."""
    for role in plan.approval.roles:
        members = config.roles.get(role)
        if members is not None and members.groups:
            return None
    own = barred(config, plan)
    may = {u for r in plan.approval.roles for u in roles.members(r)} - own
    hint = "ask someone else to request it, or add people to the role in chatops.yml"
    if plan.approval.architect:
        architects = set(roles.members("architect"))
        if not architects - own:
            who = (
                f"the only architect ({', '.join(sorted(architects & own))}) is the requester"
                if architects & own
                else "no architect is configured"
            )
            return f"no one can approve this: it needs an architect, and {who}; {hint}"
    if len(may) < needed:
        return (
            f"no one can approve this: it needs {needed} approval(s) from "
            f"{', '.join(plan.approval.roles)}, and only {len(may)} of them may approve "
            f"it (not its requester); {hint}"
        )
    return None


def unanswered_refusal(plan: Plan, run: RunView) -> str:
    """Why a plan with open planning questions cannot be approved, and who answers them."""
    asks = "; ".join(f"{q} ({plan.questions.get(q, q)})" for q in plan.unanswered())
    return (
        f"run {run.id} cannot be approved yet: its planning questions are not answered: "
        f"{asks}. The requester ({run.requester}) answers them, which makes a new version "
        "of the plan to approve"
    )
