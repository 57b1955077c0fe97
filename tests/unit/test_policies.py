"""Each of the seed's rules refuses a plan that breaks it, with a reason a person understands."""

from __future__ import annotations

from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan, PlannedStep
from chatops.engine.planning.policy import evaluate
from chatops.engine.planning.runbook import Approval, Runbook
from tests.factories import plan_for

MIG = {"service": "eckwms-global", "script": "scripts/add-status.js"}


def without(plan: Plan, *ids: str) -> Plan:
    return plan.model_copy(update={"steps": [s for s in plan.steps if s.id not in ids]})


def reasons(plan: Plan) -> str:
    return "\n".join(evaluate(plan).reasons)


def test_migration_without_backup_is_refused(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = without(plan_for(runbooks, config, "migration", **MIG), "backup")
    assert "back up the production database before" in reasons(plan)


def test_backup_after_the_migration_does_not_count(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config, "migration", **MIG)
    steps = list(plan.steps)
    backup = next(s for s in steps if s.id == "backup")
    steps.remove(backup)
    steps.insert(steps.index(next(s for s in steps if s.id == "verify")), backup)
    assert "back up the production database before" in reasons(
        plan.model_copy(update={"steps": steps})
    )


def test_manual_backup_does_not_count(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = plan_for(runbooks, config, "migration", **MIG)
    steps = [
        s.model_copy(update={"kind": "manual", "commands": []}) if s.id == "backup" else s
        for s in plan.steps
    ]
    assert "back up" in reasons(plan.model_copy(update={"steps": steps}))


def test_migration_without_integrity_check_is_refused(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = without(plan_for(runbooks, config, "migration", **MIG), "verify")
    assert "verify data integrity after" in reasons(plan)


def test_deploy_without_rollback_is_refused(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = plan_for(runbooks, config, "deploy")
    bare = plan.model_copy(
        update={
            "rollback": [],
            "steps": [s.model_copy(update={"rollback": []}) for s in plan.steps],
        }
    )
    assert "deploy plan must carry a rollback" in reasons(bare)
    assert reasons(plan) == ""


def test_migration_needs_the_architect(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = plan_for(runbooks, config, "migration", **MIG)
    lead_only = plan.model_copy(update={"approval": Approval(roles=["lead"], quorum=2)})
    text = reasons(lead_only)
    assert "changes the database structure: the architect role must approve" in text


def test_feature_endpoint_refactor_need_the_architect(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    for name in ("feature", "endpoint", "refactor"):
        plan = plan_for(runbooks, config, name)
        assert reasons(plan) == ""
        no_arch = plan.model_copy(update={"approval": Approval(roles=["lead", "coder"])})
        assert f"is a {name}: the architect role must approve" in reasons(no_arch)


def test_schema_change_sneaked_into_a_deploy_is_refused(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config, "deploy")
    sneaky = PlannedStep(id="alter", title="Alter the orders table", kind="ssh", purpose="migrate")
    text = reasons(plan.model_copy(update={"steps": [*plan.steps, sneaky]}))
    assert "changes the database structure: the architect role must approve" in text
    assert "outside what on-call or a coder may do" in text


def test_routine_work_needs_no_architect(runbooks: dict[str, Runbook], config: Config) -> None:
    for name in ("deploy", "hotfix", "debug"):
        params = {"service": "eckwms-global"} | ({"ref": "fix-1"} if name == "hotfix" else {})
        plan = plan_for(runbooks, config, name, **params)
        assert not plan.approval.architect
        assert reasons(plan) == ""


def test_refactor_with_a_feature_step_is_refused(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = plan_for(runbooks, config, "refactor")
    feature = PlannedStep(
        id="labels", title="Add a new endpoint for printing labels", kind="manual", role="coder"
    )
    text = reasons(plan.model_copy(update={"steps": [*plan.steps, feature]}))
    assert "a refactor must not mix in new features" in text
    tagged = PlannedStep(id="x", title="Reports", kind="manual", purpose="feature")
    assert "must not mix" in reasons(plan.model_copy(update={"steps": [*plan.steps, tagged]}))
