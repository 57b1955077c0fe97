"""Who may approve a plan, as the roles are configured: four-eyes (the requester, and the
person an agent acts for, never approve their own plan), whether anyone could approve it at
all, and why a plan with open planning questions cannot be approved yet."""

from __future__ import annotations

from collections.abc import Sequence

from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import ApprovalRecord, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan

__all__ = [
    "approval_said",
    "barred",
    "needs_said",
    "nobody_approves",
    "still_needed",
    "unanswered_refusal",
]


def _roles_said(roles: Sequence[str]) -> str:
    return " or ".join(roles)


def approval_said(plan: Plan, needed: int) -> str:
    """The approval a plan needs, plainly: "1 approval from architect or lead; an architect
    among them (set by the feature runbook)"."""
    said = f"{needed} approval{'s' if needed != 1 else ''} from {_roles_said(plan.approval.roles)}"
    if plan.approval.architect:
        said += "; an architect among them"
    if plan.approval_rule:
        said += f" (set by {plan.approval_rule})"
    return said


def still_needed(
    config: Config,
    roles: Roles,
    plan: Plan,
    needed: int,
    valid: list[ApprovalRecord],
) -> tuple[str, ...]:
    """Who is still needed, named: "an architect (carol)", "1 more approval from lead
    (bob, erin)". Those who approved and those four-eyes bars are not named."""
    approved = {a.user for a in valid}
    own = barred(config, plan)

    def named(role_list: Sequence[str]) -> str:
        people = sorted({u for r in role_list for u in roles.members(r)} - approved - own)
        return f" ({', '.join(people)})" if people else ""

    out: list[str] = []
    architect_missing = plan.approval.architect and not any("architect" in a.roles for a in valid)
    more = needed - len(approved)
    if architect_missing:
        out.append("an architect" + named(["architect"]))
        more -= 1  # the architect's approval counts toward the quorum
    if more > 0:
        others = " more" if approved or architect_missing else ""
        out.append(
            f"{more}{others} approval{'s' if more != 1 else ''} from "
            f"{_roles_said(plan.approval.roles)}" + named(plan.approval.roles)
        )
    return tuple(out)


def needs_said(plan: Plan, needs: tuple[str, ...], valid: list[ApprovalRecord]) -> str:
    """ "needs: an architect (carol); bob (lead) approved"."""
    approved = [
        f"{a.user} ({', '.join(r for r in a.roles if r in plan.approval.roles) or 'no role'})"
        for a in valid
    ]
    parts = []
    if needs:
        parts.append("needs: " + " and ".join(needs))
    if approved:
        parts.append(", ".join(approved) + " approved")
    return "; ".join(parts)


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
