"""Deciding a plan from the terminal: `chatops edit`, `approve` and `reject` under the rules
and audit of the Slack buttons (in-process: the CLI's own entry point)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatops.cli.commands.exits import EXIT_FAILED, EXIT_REFUSED
from chatops.cli.main import main as cli
from tests.apps import ECHO_DATABASE, cli_config
from tests.factories import answer_flags


@pytest.fixture
def common(tmp_path: Path) -> list[str]:
    return cli_config(tmp_path, database=ECHO_DATABASE)


def audit(common: list[str], capsys: pytest.CaptureFixture[str], run: int) -> str:
    capsys.readouterr()
    assert cli(["audit", str(run), *common]) == 0
    return capsys.readouterr().out


def test_answer_by_edit_then_approve_with_the_hash_read(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    mig = ["migration", "web", "script=scripts/add-status.js", "--as", "U_CODER"]
    assert cli(["run", *mig, *common]) == 0  # asked, on record: it waits, nobody approved
    out = capsys.readouterr().out
    assert "NOT ANSWERED: required before approval" in out
    assert "chatops edit 1 tables=... --as U_CODER" in out
    assert cli(["approve", "1", "--as", "U_LEAD", *common]) == EXIT_REFUSED
    assert "its planning questions are not answered: tables" in capsys.readouterr().err
    assert cli(["edit", "1", "tables=orders", "--as", "U_LEAD", *common]) == EXIT_REFUSED
    assert "only the requester may change a plan" in capsys.readouterr().err
    words = [w.split("=", 1)[0] + "=x" for w in answer_flags("migration")[1::2]]
    assert cli(["edit", "1", *words, "--as", "U_CODER", *common]) == 0
    out = capsys.readouterr().out
    assert "NOT ANSWERED" not in out and "replaces the earlier version" in out
    old = next(line for line in audit(common, capsys, 1).splitlines() if "plan.requested" in line)
    old_hash = old.rsplit("plan ", 1)[1]
    assert cli(["approve", "1", "--as", "U_LEAD", "--plan", old_hash, *common]) == EXIT_REFUSED
    assert "different version of the plan" in capsys.readouterr().err
    assert cli(["approve", "1", "--as", "U_LEAD", *common]) == 0
    assert "an architect (U_ARCH)" in capsys.readouterr().out  # named, plainly
    assert cli(["approve", "1", "--as", "U_ARCH", *common]) == 0
    said = capsys.readouterr()
    assert "approved by U_LEAD, U_ARCH" in said.out
    # the terminal is no worker, and none runs: it says so, and nothing ran here
    assert "run #1 approved; no worker is running, so it waits: start `chatops serve`" in said.err
    trail = audit(common, capsys, 1)
    assert trail.count("denied.approve") == 2 and "denied.revise" in trail
    assert "run.queued" in trail and "run.started" not in trail
    # asked to, the terminal is the worker: the run starts here and waits for its person
    assert cli(["resume", "1", "--as", "U_LEAD", "--here", *common]) == EXIT_FAILED
    assert "run 1 is queued" in capsys.readouterr().err  # only an interrupted run resumes


def test_reject_from_the_terminal(common: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 0  # waits
    assert cli(["reject", "1", "--as", "U_ONCALL", "--reason", "no", *common]) == EXIT_REFUSED
    assert "only an approver or the requester" in capsys.readouterr().err
    assert cli(["reject", "1", "--as", "U_LEAD", "--reason", "not during the sale", *common]) == 0
    assert "rejected by U_LEAD: not during the sale" in capsys.readouterr().out
    assert cli(["approve", "1", "--as", "U_LEAD", *common]) == EXIT_FAILED
    assert "run 1 is rejected: nothing to approve" in capsys.readouterr().err
    trail = audit(common, capsys, 1)
    assert "plan.rejected" in trail and "not during the sale" in trail
