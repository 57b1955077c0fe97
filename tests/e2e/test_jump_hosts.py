"""Hosts behind a bastion (`via:` in the inventory, `bastions:` in chatops.yml), on two real
sshds: the bastion on 127.0.0.1 forwards only to the inner one (`PermitOpen`), the inner
one listens on 127.0.0.2. Both hops' host keys are checked (RejectPolicy), the login to the
inner one is end to end, and a deploy runs through the bastion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chatops.bootstrap import build
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.inventory import Host
from chatops.engine.runs.commands import Approve
from chatops.executors.ssh import SshExecutor
from chatops.settings import Settings
from tests.apps import App, health_server, make_app, service_config
from tests.conftest import ROOT, SSHD, need
from tests.servers import Sshd, run_sshd


@pytest.fixture(scope="module")
def hops() -> Iterator[tuple[Sshd, Sshd]]:
    if not Path(SSHD).exists():
        need("OpenSSH server (/usr/sbin/sshd)", "apt-get install openssh-server")
    with (
        run_sshd(address="127.0.0.2") as inner,
        run_sshd(extra=f"PermitOpen 127.0.0.2:{inner.port}\n") as bastion,
    ):
        yield bastion, inner


def config(bastion: Sshd, inner: Sshd, **host: object) -> dict[str, object]:
    hop = bastion.host()
    hop.pop("name")
    return {
        "bastions": {"bastion-1": hop},
        "services": {
            "web": {
                "app_dir": "/tmp",
                "manager": {"type": "pm2", "name": "web"},
                "environments": {
                    "production": {"hosts": [inner.host("inner-1", via="bastion-1", **host)]}
                },
            }
        },
    }


def inner_host(bastion: Sshd, inner: Sshd, **over: object) -> Host:
    cfg = Config.model_validate(config(bastion, inner, **over))
    return cfg.services["web"].environments["production"].hosts[0]


def run(host: Host) -> tuple[str, str, str]:
    out: list[str] = []
    r = SshExecutor().run(host, "echo $SSH_CONNECTION", timeout=20, on_output=out.append)
    return r.outcome, "".join(out).strip(), r.error


def test_a_command_goes_through_the_bastion_and_only_through_it(hops: tuple[Sshd, Sshd]) -> None:
    bastion, inner = hops
    host = inner_host(bastion, inner)
    assert host.jump is not None and host.jump.port == bastion.port
    outcome, said, _ = run(host)
    assert outcome == "ok"
    assert said.endswith(f"127.0.0.2 {inner.port}")  # the inner sshd served it
    outcome, _, error = run(inner_host(bastion, inner, port=inner.port + 1))
    assert outcome == "unreachable" and "its bastion could not or would not" in error  # PermitOpen
    bastion.stop()  # the bastion down: the inner host is not reached another way
    try:
        outcome, _, error = run(host)
        assert outcome == "unreachable"
        assert error == f"through bastion bastion-1 (127.0.0.1:{bastion.port}): connection refused"
    finally:
        bastion.start()
    assert run(host)[0] == "ok"


def test_both_hops_host_keys_are_checked(hops: tuple[Sshd, Sshd], tmp_path: Path) -> None:
    bastion, inner = hops
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    outcome, _, error = run(inner_host(bastion, inner, known_hosts=str(empty)))
    assert outcome == "host_key_unknown" and error.startswith("inner-1 (127.0.0.2:")
    cfg = config(bastion, inner)
    cfg["bastions"]["bastion-1"]["known_hosts"] = str(empty)  # type: ignore[index]
    host = Config.model_validate(cfg).services["web"].environments["production"].hosts[0]
    outcome, _, error = run(host)
    assert outcome == "host_key_unknown" and error.startswith("through bastion bastion-1")
    wrong = tmp_path / "wrong"
    wrong.write_text(f"[127.0.0.2]:{inner.port} {bastion.host_pub}\n")  # another key
    outcome, _, error = run(inner_host(bastion, inner, known_hosts=str(wrong)))
    assert outcome == "host_key_mismatch"


def test_a_deploy_runs_through_the_bastion(hops: tuple[Sshd, Sshd], tmp_path: Path) -> None:
    bastion, inner = hops
    app: App = make_app(tmp_path / "app")
    with health_server(app) as url:
        cfg = service_config(app, url, [inner.host("inner-1", via="bastion-1")])
        hop = bastion.host()
        hop.pop("name")
        cfg["bastions"] = {"bastion-1": hop}
        path = tmp_path / "chatops.yml"
        path.write_text(yaml.safe_dump(cfg))
        settings = Settings(
            config=path, database_url=f"sqlite:///{tmp_path / 'c.db'}", commands=ROOT / "commands"
        )
        built = build(settings, here=True).start()  # this process is the run's worker
        try:
            w = built.wired
            req = w.changes.request("deploy", {"service": "web", "ref": "v2"}, requester="U_CODER")
            w.ops.handle(Approve(req.run.id, "U_LEAD", req.plan.sha256))
            w.changes.handoffs.mark_done(req.run.id, "prepare", "U_CODER")
            done = w.runner.continue_run(req.run.id)
        finally:
            built.stop()
    assert done is not None and done.state == RunState.SUCCEEDED
    assert app.head() == app.revs["v2"]
