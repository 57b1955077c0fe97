"""Bounded fan-out with the engine's own parts: however many runs go at once, this process
runs commands on at most `ssh.max_parallel` hosts together; a step's own `max_parallel`
narrows it; the threads a step uses do not grow with its host count."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from chatops.engine.domain.result import CommandResult
from chatops.engine.domain.run import RunState
from chatops.engine.planning.inventory import Host
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import OutputCallback
from tests.conftest import eck_config
from tests.factories import FakeExecutor, rig
from tests.memory import MemoryDatabase

HOSTS = 12


@dataclass
class Busy(FakeExecutor):
    """Each command takes a moment; counts how many run at once, and on how many threads."""

    now: int = 0
    most: int = 0
    threads: set[int] = field(default_factory=set)

    def run(self, host: Host, command: str, *, timeout: float, on_output: OutputCallback,
            cancel: threading.Event | None = None, session: str | None = None,
            job: str | None = None) -> CommandResult:  # fmt: skip
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.get_ident())
        time.sleep(0.03)
        with self.lock:
            self.now -= 1
        return super().run(host, command, timeout=timeout, on_output=on_output)


def touch(max_parallel: int | None = None) -> Runbook:
    step: dict[str, object] = {"id": "touch", "title": "Touch every host", "kind": "ssh",
                               "run": "true", "hosts": "parallel"}  # fmt: skip
    if max_parallel is not None:
        step["max_parallel"] = max_parallel
    return Runbook.model_validate(
        {
            "name": "touch",
            "kind": "debug",
            "title": "Touch",
            "description": "A command on every host of a service.",
            "requesters": ["lead"],
            "approval": {"roles": ["lead"], "quorum": 1},
            "parameters": {"service": {"type": "service"}},
            "steps": [step],
        }
    )


def fleet(name: str) -> dict[str, object]:
    hosts = [{"name": f"{name}-{i}", "address": f"10.0.0.{i + 1}"} for i in range(HOSTS)]
    return {"app_dir": f"/srv/{name}", "manager": {"type": "pm2", "name": name},
            "environments": {"production": {"hosts": hosts}}}  # fmt: skip


def test_two_runs_at_once_stay_within_the_process_bound() -> None:
    config = eck_config(services={"a": fleet("a"), "b": fleet("b")}, ssh={"max_parallel": 5})
    ex = Busy()
    r = rig(MemoryDatabase(), config, {"touch": touch()}, executor=ex)
    runs = []
    for service in ("a", "b"):
        made = r.changes.request("touch", {"service": service}, requester="U_LEAD2")
        r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)
        runs.append(made.run.id)
    workers = [threading.Thread(target=r.runner.drain) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [r.store.get_run(i).state for i in runs] == [RunState.SUCCEEDED] * 2
    assert len(ex.calls) >= 2 * HOSTS
    assert ex.most == 5  # both runs' hosts together: the bound is met, never passed


def test_a_step_narrows_it_and_its_threads_do_not_grow_with_its_hosts() -> None:
    config = eck_config(services={"a": fleet("a")}, ssh={"max_parallel": 50})
    ex = Busy()
    r = rig(MemoryDatabase(), config, {"touch": touch(max_parallel=3)}, executor=ex)
    made = r.changes.request("touch", {"service": "a"}, requester="U_LEAD2")
    assert made.plan.steps[0].max_parallel == 3
    r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)
    [done] = r.runner.drain()
    assert done.state == RunState.SUCCEEDED
    assert ex.most == 3 and len(ex.threads) == 3  # twelve hosts, three threads
