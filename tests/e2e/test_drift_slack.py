"""The drift check on the real parts: a deploy is approved in Slack against the app on the
real sshd; a commit lands on the host before the run's first machine step; the run stops
before touching it, the thread says what changed ("box-1 was at ... when approved, is at
... now"), and it goes on only when a lead approves again."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chatops.engine.planning.drift import DRIFT_STEP
from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, App, git, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.factories import Each, sql
from tests.servers import Sshd


@pytest.fixture
def slack(tmp_path: Path, sshd: Sshd) -> Iterator[tuple[ChatHarness, App, str]]:
    app = make_app(tmp_path / "app")
    with health_server(app) as url:
        cfg = service_config(app, url, [sshd.host("box-1")])
        path = tmp_path / "chatops.yml"
        path.write_text(yaml.safe_dump(cfg))
        db = f"sqlite:///{tmp_path / 'c.db'}"
        h = ChatHarness(
            config=path, commands=ROOT / "commands", database_url=db, throttle=0.2,
            slack_limits=ROOMY,
        )  # fmt: skip
        try:
            yield h, app, db
        finally:
            h.stop()


def fingerprint(sshd: Sshd) -> str:
    pub = sshd.workdir / "host_key.pub"
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    return out.stdout.split()[1]  # "256 SHA256:... comment (ED25519)"


def test_a_commit_landing_after_approval_stops_the_run_until_approved_again(
    slack: tuple[ChatHarness, App, str], sshd: Sshd
) -> None:
    h, app, db = slack
    h.command("/change", "deploy service=web ref=v2", user="U_CODER")
    h.settle()
    h.click("chatops.approve", user="U_LEAD")
    h.settle()
    [run] = Each(sql(db), "runs").list()
    approved_at = app.head()
    facts = Each(sql(db), "plans").get(run.task_id).facts["box-1"]  # read when it was made
    assert facts["revision"] == approved_at
    assert facts["host_key"] == fingerprint(sshd)  # the key the host presented, as known
    [plan_message] = h.plans()
    assert f"Hosts as shown:* box-1 at {approved_at[:12]}" in str(plan_message.blocks)

    git("-c", "user.email=ops@example.test", "-c", "user.name=ops", "commit", "-q",
        "--allow-empty", "-m", "patched by hand", cwd=app.app_dir)  # fmt: skip
    landed = app.head()
    h.click("chatops.done", user="U_CODER")  # the coder's step: then the first machine step
    h.settle()
    [plan] = h.plans()
    said = [m.all_text() for m in h.thread(plan) if "stopped before touching" in m.all_text()]
    assert len(said) == 1
    assert f"box-1 was at {approved_at[:12]} when approved, is at {landed[:12]} now" in said[0]
    run = Each(sql(db), "runs").get(run.id)
    assert run.state.value == "running" and run.current_step == DRIFT_STEP
    steps = {s.step_id for s in Each(sql(db), "steps").of_run(run.id)}
    assert steps == {"prepare", DRIFT_STEP}  # nothing ran on the host
    assert app.head() == landed and not (app.app_dir / ".chatops" / "previous-revision").exists()

    assert h.click("chatops.gate", user="U_CODER")[0] == 200  # the requester may not
    h.settle()
    assert Each(sql(db), "runs").get(run.id).current_step == DRIFT_STEP
    assert any("four-eyes" in e for e in h.ephemerals("U_CODER"))
    h.click("chatops.gate", user="U_LEAD")
    h.settle()
    run = Each(sql(db), "runs").get(run.id)
    assert run.state.value == "succeeded"
    assert (app.app_dir / ".chatops" / "previous-revision").read_text().strip() == landed
    actions = [e.action for e in Each(sql(db), "audit").for_run(run.id)]
    assert actions.count("drift.found") == 1 and actions.count("drift.reapproved") == 1
