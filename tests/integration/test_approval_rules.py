"""Approvals per environment: the strictest applicable rule wins, the runbook's approval when
none applies, the Architect never waived; a blast radius adds one approval and says so.
Enforced when people approve, shown on the plan (Slack and the terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.errors import PermissionDenied
from tests.conftest import eck_config
from tests.factories import answers_for, plan_for, rig
from tests.memory import MemoryDatabase

RULES: list[dict[str, Any]] = [
    {"name": "staging", "environments": ["staging"], "roles": ["coder", "lead"], "quorum": 1},
    {"name": "production", "environments": ["production"], "roles": ["lead"], "quorum": 1},
    {
        "name": "production migration",
        "environments": ["production"],
        "processes": ["migration"],
        "roles": ["lead", "architect"],
        "quorum": 2,
        "architect": True,
    },
]
MIGRATION = {"service": "eckwms-global", "script": "scripts/add-status.js"}


def config(**over: Any) -> Config:
    return eck_config(approval_rules=RULES, **over)


def test_the_strictest_applicable_rule_wins_and_the_plan_says_which(
    runbooks: dict[str, Runbook],
) -> None:
    c = config()
    staging = plan_for(runbooks, c, "deploy", service="eckwms-global", environment="staging")
    assert (staging.approval.roles, staging.approval.quorum) == (["coder", "lead"], 1)
    assert staging.approval_rule == "rule 'staging'"
    prod = plan_for(runbooks, c, "deploy", service="eckwms-global")
    assert prod.approval.roles == ["lead"] and prod.approval_rule == "rule 'production'"
    migration = plan_for(runbooks, c, "migration", **MIGRATION)
    assert migration.approval.quorum == 2 and migration.approval.architect
    assert migration.approval_rule == "rule 'production migration'"
    plain = plan_for(runbooks, eck_config(), "deploy", service="eckwms-global")
    assert plain.approval == runbooks["deploy"].approval
    assert plain.approval_rule == "the deploy runbook"


def test_a_rule_never_waives_the_architect(runbooks: dict[str, Runbook]) -> None:
    loose = [{"name": "staging", "environments": ["staging"], "roles": ["coder"], "quorum": 1}]
    plan = plan_for(
        runbooks, eck_config(approval_rules=loose), "migration", environment="staging", **MIGRATION
    )
    assert plan.approval.architect and "architect" in plan.approval.roles
    with pytest.raises(ValidationError, match="list it in roles"):
        eck_config(approval_rules=[{"name": "x", "roles": ["lead"], "architect": True}])


def test_the_rules_are_enforced_when_people_approve(runbooks: dict[str, Runbook]) -> None:
    enforced(MemoryDatabase(), runbooks)


def test_the_rules_hold_on_sqlite_and_postgresql(runbooks: dict[str, Runbook], db_url: str) -> None:
    enforced(db_url, runbooks)


def enforced(db: str | MemoryDatabase, runbooks: dict[str, Runbook]) -> None:
    r = rig(db, config(), runbooks)
    staging = r.changes.request(
        "deploy", {"service": "eckwms-global", "environment": "staging"}, requester="U_LEAD"
    )
    status = r.changes.approve(staging.run.id, "U_CODER", staging.plan.sha256)
    assert status.complete  # staging: one coder is enough
    prod = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_LEAD")
    with pytest.raises(PermissionDenied, match="only lead may approve"):
        r.changes.approve(prod.run.id, "U_CODER", prod.plan.sha256)
    mig = r.changes.request(
        "migration", dict(MIGRATION), requester="U_CODER", answers=answers_for("migration")
    )
    first = r.changes.approve(mig.run.id, "U_LEAD", mig.plan.sha256)
    assert not first.complete and first.needed == 2
    second = r.changes.approve(mig.run.id, "U_LEAD2", mig.plan.sha256)
    assert not second.complete and "architect" in second.missing[0]  # 2, including it


def test_a_plan_over_the_blast_radius_needs_one_more_approval_and_says_so(
    runbooks: dict[str, Runbook],
) -> None:
    hosts = [{"name": f"prod-{i}", "address": f"10.0.0.{i}"} for i in range(1, 9)]
    services = eck_config().model_dump()["services"]
    services["eckwms-global"]["environments"]["production"]["hosts"] = hosts
    c = eck_config(services=services, policies={"blast_radius": {"production": 5}})
    plan = plan_for(runbooks, c, "deploy", service="eckwms-global")
    assert plan.approval.quorum == runbooks["deploy"].approval.quorum + 1
    assert plan.approval_rule is not None and "8 hosts is more than the 5" in plan.approval_rule
    small = plan_for(runbooks, c, "deploy", service="eckwms-global", environment="staging")
    assert small.approval.quorum == runbooks["deploy"].approval.quorum
    r = rig(MemoryDatabase(), c, runbooks)
    made = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    assert not r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256).complete
    assert r.changes.approve(made.run.id, "U_LEAD2", made.plan.sha256).complete


def test_the_terminal_shows_the_rule(runbooks: dict[str, Runbook]) -> None:
    from chatops.cli.commands import render
    from chatops.engine.planning.policy import evaluate

    plan = plan_for(runbooks, config(), "migration", **MIGRATION)
    text = render.plan_text(plan, evaluate(plan), None)
    assert "approval: 2 approvals from lead or architect; an architect among them" in text
    assert "(set by rule 'production migration')" in text


def test_check_warns_of_rules_and_freezes_naming_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    import yaml

    from tests.conftest import ROOT

    cfg = {
        "approval_rules": [
            {"name": "typo", "processes": ["deplyo"], "environments": ["prod"], "roles": ["lead"]}
        ],
        "freezes": {"allow": ["hotfx"]},
    }
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run(
        [sys.executable, "-m", "chatops", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "freezes.allow names unknown process(es): hotfx" in out.stdout
    assert "approval rule 'typo' names unknown process(es): deplyo" in out.stdout
    assert "approval rule 'typo' names unknown environment(s): prod" in out.stdout
