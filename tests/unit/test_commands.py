"""Every front end changes anything through one door: a command value handed to
`Operations.handle`, which decides and does what follows."""

from __future__ import annotations

import ast
import inspect

import pytest

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs import commands
from chatops.engine.runs.commands import Approve, Command, MarkDone
from chatops.engine.runs.operations import Operations
from chatops.errors import StateError
from tests.conftest import ROOT
from tests.factories import rig
from tests.memory import MemoryDatabase

FRONT_ENDS = ("slack", "cli", "api", "console", "web")
#: what deciding looks like when a front end goes round `handle`
AROUND = (
    "changes.approve(",
    "changes.reject(",
    "changes.request(",
    "changes.import_request(",
    "changes.resume(",
    "changes.roll_back(",
    "changes.cancel(",
    "revisions.revise(",
    "handoffs.",
    "proposals.",
)


def test_every_command_has_its_handler(config: Config, runbooks: dict[str, Runbook]) -> None:
    r = rig(MemoryDatabase(), config, runbooks)
    ops = Operations(r.changes, r.runner)
    declared = {
        c
        for _, c in inspect.getmembers(commands, inspect.isclass)
        if issubclass(c, Command) and c is not Command
    }
    assert len(declared) >= 15
    assert declared == set(ops._handlers)

    class Unknown(Command[None]):
        pass

    with pytest.raises(TypeError, match="no handler for Unknown"):
        ops.handle(Unknown())


def test_a_command_decides_and_does_what_follows(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    """An approval through `handle` records what the plan is approved against and starts
    the run (here: this rig executes at once), up to the people's step it waits on."""
    r = rig(MemoryDatabase(), config, runbooks)
    ops = Operations(r.changes, r.runner)
    made = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    status = ops.handle(Approve(made.run.id, "U_LEAD", made.plan.sha256))
    assert status.complete
    run = r.store.get_run(made.run.id)
    assert run.state.value == "running" and run.current_step == "prepare"  # waits on the coder
    ops.handle(MarkDone(made.run.id, "prepare", "U_CODER"))
    assert r.store.get_run(made.run.id).state.value == "succeeded"
    with pytest.raises(StateError):
        ops.handle(MarkDone(made.run.id, "prepare", "U_CODER"))  # not waiting any more


def test_no_front_end_decides_around_handle() -> None:
    found = []
    for part in FRONT_ENDS:
        for f in sorted((ROOT / "chatops" / part).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text())):
                if isinstance(node, ast.Call):
                    said = ast.unparse(node.func) + "("
                    if any(a in said for a in AROUND):
                        found.append(f"{f.relative_to(ROOT)}:{node.lineno} {said}")
    assert found == []
