"""The seed process's rules, checked before anyone may approve a plan.

Each check returns reasons a person understands; an empty list means the plan may proceed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chatops.engine.planning.plan import Plan, PlannedStep

__all__ = [
    "ARCHITECT_KINDS",
    "CHECKS",
    "FEATURE_WORDS",
    "ROUTINE_KINDS",
    "ROUTINE_PURPOSES",
    "Check",
    "Verdict",
    "architect_approval",
    "evaluate",
    "migration_backup_and_verify",
    "refactor_without_features",
    "rollback_required",
    "routine_scope",
]

#: Processes the Architect must approve (seed, "Delegation": features, DB structure, APIs).
ARCHITECT_KINDS = frozenset({"feature", "migration", "endpoint", "refactor"})
#: What on-call or a coder may do without an Architect (seed: deploy ready code, restart,
#: read logs; Process 7: hotfix; Process 4: diagnosis).
ROUTINE_KINDS = frozenset({"deploy", "hotfix", "debug"})
ROUTINE_PURPOSES = frozenset(
    {
        "plan",
        "code",
        "test",
        "commit",
        "push",
        "docs",
        "snapshot",
        "update",
        "install",
        "verify",
        "restart",
        "health",
        "logs",
        "diagnose",
        "record",
        "backup",
        "datafix",
        "other",
    }
)
FEATURE_WORDS = re.compile(
    r"\b(new|add(s|ing)?|introduc\w*|implement\w*)\b[^.\n]{0,40}\b(feature|endpoint|route|api|"
    r"column|table|field|functionality)s?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons


Check = Callable[[Plan], list[str]]


def _index(plan: Plan, purpose: str) -> list[int]:
    return [i for i, s in enumerate(plan.steps) if s.purpose == purpose]


def migration_backup_and_verify(plan: Plan) -> list[str]:
    """Seed, Process 2 and best practices: back up before changing the database (a migration
    or a data fix), verify integrity after."""
    changes = [i for i, s in enumerate(plan.steps) if s.purpose in ("migrate", "datafix")]
    if plan.kind != "migration" and not changes:
        return []
    if not changes:
        return ["a migration plan must contain a step that applies it (purpose: migrate)"]
    what = "a migration" if plan.kind == "migration" else "a change to the data"
    reasons: list[str] = []
    first, last = changes[0], changes[-1]
    backups = [i for i in _index(plan, "backup") if plan.steps[i].is_machine]
    if not any(b < first for b in backups):
        reasons.append(
            f"{what} must back up the production database before it is applied "
            "(a machine step with purpose 'backup' before it)"
        )
    verifies = [i for i in _index(plan, "verify") if plan.steps[i].is_machine]
    if not any(v > last for v in verifies):
        reasons.append(
            f"{what} must verify data integrity after it is applied "
            "(a machine step with purpose 'verify' after it)"
        )
    return reasons


def rollback_required(plan: Plan) -> list[str]:
    """Best practices: have a rollback plan for every deploy and migration."""
    if plan.kind in ("deploy", "migration", "hotfix") and not plan.has_rollback():
        return [f"a {plan.kind} plan must carry a rollback (a step rollback or a rollback section)"]
    return []


def architect_approval(plan: Plan) -> list[str]:
    """Delegation: schema changes, features, endpoints and refactors need the Architect."""
    touches_schema = bool(_index(plan, "migrate"))
    if (plan.kind in ARCHITECT_KINDS or touches_schema) and not plan.approval.architect:
        what = "changes the database structure" if touches_schema else f"is a {plan.kind}"
        return [f"this plan {what}: the architect role must approve it"]
    return []


def routine_scope(plan: Plan) -> list[str]:
    """On-call or a coder alone may deploy ready code, restart, read logs and hotfix; no more."""
    if plan.approval.architect:
        return []
    if plan.kind not in ROUTINE_KINDS:
        return [f"a {plan.kind} is not routine work: it cannot run without the architect role"]
    bad = [s for s in plan.steps if s.purpose not in ROUTINE_PURPOSES]
    return [
        f"step '{s.id}' ({s.purpose}) is outside what on-call or a coder may do without "
        "the architect role (deploy ready code, restart, read logs, hotfix)"
        for s in bad
    ]


def refactor_without_features(plan: Plan) -> list[str]:
    """Process 6: do not mix refactoring with new features."""
    if plan.kind != "refactor":
        return []
    reasons = []
    for s in plan.steps:
        if s.purpose in ("feature", "migrate") or FEATURE_WORDS.search(_text(s)):
            reasons.append(
                f"step '{s.id}' adds a feature or changes the schema: a refactor must not mix "
                "in new features (split it into a feature request)"
            )
    return reasons


def _text(s: PlannedStep) -> str:
    return f"{s.title}\n{s.description}"


CHECKS: tuple[Check, ...] = (
    migration_backup_and_verify,
    rollback_required,
    architect_approval,
    routine_scope,
    refactor_without_features,
)


def evaluate(plan: Plan, checks: tuple[Check, ...] = CHECKS) -> Verdict:
    reasons: list[str] = []
    for check in checks:
        reasons.extend(check(plan))
    return Verdict(tuple(reasons))
