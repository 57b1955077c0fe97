"""Rolling deploys: batches (a canary first, a number or a share of the hosts), a gate or a
pause between them, a failure threshold that stops the deploy and rolls back only the
hosts already done, a failed host sitting out the rest of its batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.plan import PlannedStep
from chatops.engine.planning.rolling import batches
from chatops.engine.planning.runbook import Rolling, Runbook, Step
from tests.apps import App, health_server
from tests.cli_rig import chatops
from tests.conftest import eck_config
from tests.factories import FakeExecutor, rig
from tests.memory import MemoryDatabase

HOSTS = [f"prod-{i}" for i in range(1, 6)]


def five_hosts() -> Config:
    services = eck_config().model_dump()["services"]
    services["eckwms-global"]["environments"]["production"]["hosts"] = [
        {"name": h, "address": f"10.0.0.{i}"} for i, h in enumerate(HOSTS, start=1)
    ]
    return eck_config(services=services)


def rolling(runbooks: dict[str, Runbook], **settings: Any) -> dict[str, Runbook]:
    rb = runbooks["rolling-deploy"]
    return {**runbooks, "rolling-deploy": rb.model_copy(update={"rolling": Rolling(**settings)})}


def test_batches_a_canary_then_a_number_or_a_share() -> None:
    assert batches(HOSTS, Rolling(batch=2)) == [
        ["prod-1", "prod-2"],
        ["prod-3", "prod-4"],
        ["prod-5"],
    ]
    assert batches(HOSTS, Rolling(batch="40%", canary=True)) == [
        ["prod-1"],
        ["prod-2", "prod-3"],
        ["prod-4", "prod-5"],
    ]
    assert batches(["only"], Rolling(canary=True)) == [["only"]]
    with pytest.raises(ValidationError, match="cannot be rolling"):
        Step(id="ok", title="ok", kind="manual", role="coder", hosts="rolling")
    for bad in ({"batch": 0}, {"batch": "0%"}, {"batch": "half"}, {"max_failures": -1}):
        with pytest.raises(ValidationError):
            Rolling(**bad)


def start(  # type: ignore[no-untyped-def]
    runbooks: dict[str, Runbook],
    executor: FakeExecutor | None = None,
    db: str | MemoryDatabase | None = None,
    **settings: Any,
):
    config, books = five_hosts(), rolling(runbooks, **settings)
    r = rig(db or MemoryDatabase(), config, books, executor=executor)
    made = r.changes.request("rolling-deploy", {"service": "eckwms-global"}, requester="U_CODER")
    assert made.verdict.ok, made.verdict.reasons
    r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)
    r.runner.drain()  # to the people's step "prepare"
    r.changes.handoffs.mark_done(made.run.id, "prepare", "U_CODER")
    return r, made


class FailsOn(FakeExecutor):
    """Fails `needle` on the named hosts only (the commands are the same on every host)."""

    def __init__(self, needle: str, *hosts: str) -> None:
        super().__init__()
        self.needle, self.bad = needle, set(hosts)

    def run(self, host: Host, command: str, **kw: Any) -> CommandResult:
        result = super().run(host, command, **kw)
        if self.needle in command and host.name in self.bad:
            return CommandResult(host.name, command, "failed", 1, "boom\n", 0.01, "exit code 1")
        return result


def hosts_of(executor: FakeExecutor, needle: str) -> list[str]:
    return [h for h, cmd in executor.calls if needle in cmd]


def test_a_gate_between_batches_waits_for_a_lead(runbooks: dict[str, Runbook]) -> None:
    r, made = start(runbooks, batch="50%", canary=True, between="gate")
    r.runner.continue_run(made.run.id)
    run = r.store.get_run(made.run.id)
    assert run.state == RunState.RUNNING and run.current_step == "batch-1-done"
    assert hosts_of(r.executor, "git fetch") == ["prod-1"]  # only the canary so far
    assert r.changes.handoffs.approve_gate(made.run.id, "batch-1-done", "U_LEAD2")
    r.runner.continue_run(made.run.id)
    assert r.store.get_run(made.run.id).current_step == "batch-2-done"
    r.changes.handoffs.approve_gate(made.run.id, "batch-2-done", "U_LEAD")
    r.runner.continue_run(made.run.id)
    assert r.store.get_run(made.run.id).state == RunState.SUCCEEDED
    assert hosts_of(r.executor, "git fetch") == HOSTS


def test_a_failure_stops_and_rolls_back_only_the_hosts_done(
    runbooks: dict[str, Runbook], db_url: str
) -> None:
    failing = FailsOn("git fetch", "prod-3")
    r, made = start(runbooks, failing, db_url, batch=2, between="pause", pause=5)
    r.runner.continue_run(made.run.id)
    run_view = r.store.get_run(made.run.id)
    assert run_view.state == RunState.ROLLED_BACK, run_view.error
    assert "pull@2 failed" in run_view.error
    assert "prod-5" not in {h for h, _ in failing.calls}  # batch 3 never started
    back = {h for h, cmd in failing.calls if "previous-revision" in cmd and "checkout" in cmd}
    assert back == {"prod-1", "prod-2", "prod-4"}  # where the pull happened (not prod-3)
    calls = [h for h, cmd in failing.calls if "pm2 restart" in cmd]
    restarts = {h: calls.count(h) for h in calls}
    # each host the batches reached restarts once more, on its previous revision
    assert restarts == {"prod-1": 2, "prod-2": 2, "prod-3": 1, "prod-4": 1}


def test_a_tolerated_failure_sits_out_its_batch_and_the_deploy_goes_on(
    runbooks: dict[str, Runbook],
) -> None:
    executor = FailsOn("git fetch", "prod-2")
    r, made = start(runbooks, executor, batch=2, between="none", max_failures=1)
    r.runner.continue_run(made.run.id)
    assert r.store.get_run(made.run.id).state == RunState.SUCCEEDED
    installed = hosts_of(executor, "npm install")
    assert "prod-2" not in installed and set(installed) == set(HOSTS) - {"prod-2"}
    two = FailsOn("git fetch", "prod-2", "prod-4")
    r2, made2 = start(runbooks, two, batch=2, between="none", max_failures=1)
    r2.runner.continue_run(made2.run.id)
    stopped = r2.store.get_run(made2.run.id)
    assert stopped.state == RunState.ROLLED_BACK
    assert "2 host(s) failed (prod-2, prod-4), more than the 1" in stopped.error


def test_the_plan_shows_every_batch(runbooks: dict[str, Runbook]) -> None:
    from tests.factories import plan_for

    plan = plan_for(rolling(runbooks, batch="50%", canary=True), five_hosts(), "rolling-deploy")
    ids = [s.id for s in plan.steps]
    assert ids[:2] == ["prepare", "snapshot@1"] and "batch-1-done" in ids and "health@3" in ids
    first: PlannedStep = plan.step("pull@1")
    assert [c.host for c in first.commands] == ["prod-1"] and "canary" in first.title
    assert [c.host for c in first.rollback] == ["prod-1"]


def test_a_rolling_deploy_from_the_terminal(env: dict[str, str], app: App) -> None:
    """Two local hosts, a canary first. A canary that fails its health check is rolled back
    alone (the other host is never touched); healthy, --approve-as passes the gate between
    batches and both are deployed."""
    path = Path(env["CHATOPS_CONFIG"])
    cfg = yaml.safe_load(path.read_text())
    hosts = [{"name": n, "transport": "local"} for n in ("local-1", "local-2")]
    cfg["services"]["web"]["environments"]["production"]["hosts"] = hosts
    path.write_text(yaml.safe_dump(cfg))
    args = ("run", "rolling-deploy", "web", "ref=v2", "--as", "U_CODER")
    sick = chatops(env, *args, "--here", "--approve-as", "U_LEAD", "--manual-done")
    assert sick.returncode == 1 and "rolled_back (step health@1 failed" in sick.stdout
    assert "local-2: exit" not in sick.stdout  # the canary failed: no second batch ran
    with health_server(app) as url:
        cfg["services"]["web"]["health"]["url"] = url
        path.write_text(yaml.safe_dump(cfg))
        out = chatops(env, *args, "--here", "--approve-as", "U_LEAD", "--manual-done")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.index("local-1: exit 0") < out.stdout.index("local-2: exit 0")
    assert "succeeded" in out.stdout
