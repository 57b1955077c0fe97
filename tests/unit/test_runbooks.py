"""Every runbook loads and renders; bad runbooks get errors that name file, line and key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatops.adapters.config_files import load_config, load_runbook, load_runbooks
from chatops.engine.planning.config import Config
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.policy import evaluate
from chatops.engine.planning.runbook import Runbook
from chatops.errors import ConfigError

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
SEVEN = {"feature", "migration", "deploy", "debug", "endpoint", "refactor", "hotfix"}
PARAMS = {
    "migration": {"service": "eckwms-global", "script": "scripts/2026-add-status.js"},
    "data-fix": {"service": "eckwms-global", "script": "scripts/fix-orders.js"},
    "hotfix": {"service": "eckwms-global", "ref": "hotfix/login"},
}


def test_the_seven_seed_processes_are_runbooks(runbooks: dict[str, Runbook]) -> None:
    # and Process 4's fix paths, and Process 3 batch by batch
    assert set(runbooks) == SEVEN | {"config-fix", "data-fix", "rolling-deploy"}
    assert {rb.kind for rb in runbooks.values()} == SEVEN


@pytest.mark.parametrize("name", sorted(SEVEN | {"config-fix", "data-fix", "rolling-deploy"}))
def test_each_runbook_renders_a_plan_the_policies_accept(
    name: str, runbooks: dict[str, Runbook], config: Config
) -> None:
    params = PARAMS.get(name, {"service": "eckwms-global"})
    plan = build_plan(runbooks[name], config, params, requester="U_REQ", now=NOW)
    assert evaluate(plan).reasons == ()
    machine = [s for s in plan.steps if s.kind == "ssh"]
    assert machine, "every process touches the servers somewhere"
    for step in machine:
        assert [hc.host for hc in step.commands] == ["prod-1"]
        assert all(
            hc.command.startswith("cd /var/www/eckwms/services/eckwms-global && ")
            for hc in step.commands
        )


def test_deploy_follows_process_three(runbooks: dict[str, Runbook], config: Config) -> None:
    plan = build_plan(
        runbooks["deploy"],
        config,
        {"service": "eckwms-global", "ref": "v1.2"},
        requester="U_CODER",
        now=NOW,
    )
    purposes = [s.purpose for s in plan.steps]
    assert purposes.index("update") < purposes.index("install") < purposes.index("restart")
    assert purposes.index("restart") < purposes.index("logs")
    assert purposes.index("restart") < purposes.index("health")
    restart = plan.step("restart").commands[0].command
    assert restart.endswith("pm2 restart eckwms-global")
    assert "git fetch --quiet origin v1.2" in plan.step("pull").commands[0].command
    assert plan.step("health").http is not None
    assert plan.step("health").http.url == "http://127.0.0.1:8080/ECK/health"


def test_migration_backs_up_first_and_restores_on_failure(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = build_plan(
        runbooks["migration"], config, PARAMS["migration"], requester="U_ARCH", now=NOW
    )
    ids = [s.id for s in plan.steps]
    assert ids.index("backup") < ids.index("migrate") < ids.index("verify")
    backup = plan.step("backup").commands[0].command
    mark = plan.task_id.rsplit("-", 1)[-1]  # the plan's own: never another's in that second
    assert (
        "pg_dump --format=custom "
        f"--file=/var/backups/chatops/eckwms-global_2026-03-02_10-30-00_{mark}.dump eckwms"
        in backup
    )
    assert plan.step("migrate").commands[0].command.endswith("node scripts/2026-add-status.js")
    assert "pg_restore" in plan.step("migrate").rollback[0].command
    assert plan.approval.architect


def test_environment_choice_picks_that_environments_hosts(
    runbooks: dict[str, Runbook], config: Config
) -> None:
    plan = build_plan(
        runbooks["deploy"],
        config,
        {"service": "eckwms-global", "environment": "staging"},
        requester="U_CODER",
        now=NOW,
    )
    assert {hc.host for s in plan.steps for hc in s.commands} == {"stage-1"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    p = write(tmp_path, "deploy.yml", "kind: deploy\ntitle: [unclosed\n")
    with pytest.raises(ConfigError) as e:
        load_runbook(p)
    assert str(p) in str(e.value)
    assert "line 3" in str(e.value) or "line 2" in str(e.value)
    assert "not valid YAML" in str(e.value)


def test_runbook_error_names_the_key_and_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "deploy.yml",
        """\
kind: deploy
title: t
description: d
requesters: [coder]
approval: {roles: [lead]}
steps:
  - id: pull
    kind: ssh
    title: Pull
    run: git pull {remote} {nonsense}
""",
    )
    with pytest.raises(ConfigError) as e:
        load_runbook(p)
    msg = str(e.value)
    assert "deploy.yml" in msg and "line 7" in msg and "nonsense" in msg


def test_unknown_step_kind_and_bad_role(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "x.yml",
        """\
kind: deploy
title: t
description: d
requesters: [wizard]
approval: {roles: [lead]}
steps:
  - {id: a, kind: teleport, title: A}
""",
    )
    with pytest.raises(ConfigError) as e:
        load_runbook(p)
    msg = str(e.value)
    assert "requesters.0" in msg and "line 4" in msg
    assert "steps.0.kind" in msg


def test_config_error_names_the_key_path(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "chatops.yml",
        """\
services:
  web:
    app_dir: /srv/web
    manager: {type: pm2, name: web}
    environments:
      production:
        hosts:
          - {name: web-1, port: 99999}
""",
    )
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "chatops.yml" in msg
    assert "services.web.environments.production.hosts.0.port" in msg
    assert "line 8" in msg


def test_config_rejects_unknown_manager(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "chatops.yml",
        """\
services:
  web:
    app_dir: /srv/web
    manager: {type: supervisord, name: web}
    environments: {production: {hosts: [{name: a}]}}
""",
    )
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "services.web.manager" in str(e.value)
    assert "supervisord" in str(e.value)


def test_directory_reports_every_broken_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "kind: [\n")
    write(tmp_path, "b.yml", "- just a list\n")
    with pytest.raises(ConfigError) as e:
        load_runbooks(tmp_path)
    assert "a.yml" in str(e.value) and "b.yml" in str(e.value)


def test_the_configuration_reference_is_a_valid_config() -> None:
    """docs/configuration.md's example file is read as chatops reads chatops.yml."""
    import re

    import yaml

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "configuration.md").read_text()
    block = re.search(r"## The file\n\n```yaml\n(.*?)```", text, re.S)
    assert block is not None
    config = Config.model_validate(yaml.safe_load(block.group(1)))
    assert config.freezes.windows and config.agents.channel and config.audit.anchor_file
