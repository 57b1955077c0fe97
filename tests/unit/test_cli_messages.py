"""What the terminal says to a typo or an odd request: the right words, the right exit
code (in-process: the CLI's own entry point)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chatops.cli.main import main as cli
from chatops.cli.main import parser
from tests.apps import cli_config


@pytest.fixture
def common(tmp_path: Path) -> list[str]:
    return cli_config(tmp_path)


def said(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    return out.out + out.err


def test_a_misspelt_process_is_named_before_its_parameters(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["plan", "deplyo", "web", *common]) == 2
    text = said(capsys)
    assert "unknown process 'deplyo' (did you mean deploy?)" in text and "key=value" not in text


def test_typos_in_names_are_usage_errors_told_before_the_engine_starts(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["status", "nosuch", *common]) == 2
    assert "unknown service 'nosuch'; known services: web" in said(capsys)
    assert cli(["logs", "nosuch", "--as", "U_ONCALL", *common]) == 2
    assert "unknown service 'nosuch'" in said(capsys)
    assert cli(["postmortem", "2", *common]) == 2  # nothing was ever written: no database
    assert "no database here" in said(capsys)
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 0  # now there is
    said(capsys)
    assert cli(["postmortem", "1", *common]) == 1
    assert "run 1 has no post-mortem" in said(capsys)
    assert cli(["audit", "export", "--run", "42", *common]) == 1
    assert "no run #42" in said(capsys)


def test_runs_by_state_and_lists_with_headers(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["runs", "--state", "interrupted", *common]) == 2  # a path never written to
    assert "no database here" in said(capsys)
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 0  # waits for approval
    said(capsys)
    assert cli(["runs", "--state", "interrupted", *common]) == 0
    assert "no runs are interrupted (`chatops runs` lists all)" in said(capsys)
    assert cli(["agent", "add", "arch", "--role", "architect", "--as", "U_LEAD", *common]) == 0
    said(capsys)
    assert cli(["agent", "list", *common]) == 0
    header, row = said(capsys).splitlines()
    assert header.split() == [
        *("NAME", "ROLE", "STATE", "EXPIRES", "SERVICES", "PROCESSES", "ACTS", "FOR")
    ]
    assert row.split()[:3] == ["arch", "architect", "active"]


def test_long_needs_json_and_init_keeps_a_config(
    common: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli(["plan", "deploy", "web", "--long", *common]) == 2
    assert "--long is a form of --json" in said(capsys)
    from chatops.cli.commands.demo import init
    from chatops.errors import ConfigError

    mine = tmp_path / "mine.yml"
    mine.write_text("services: {}\n")
    with pytest.raises(ConfigError, match=r"exists \(not the demo.s\): keep it, or pass --force"):
        init(tmp_path / "demo", config=mine)
    assert mine.read_text() == "services: {}\n"


def test_every_argument_has_help_and_serve_names_the_agents_endpoints() -> None:
    p = parser()
    sub = next(a for a in p._actions if a.dest == "cmd")

    def walk(name: str, command: argparse.ArgumentParser) -> None:
        for action in command._actions:
            if action.dest in ("help", "config", "commands", "database_url"):
                continue
            if isinstance(action.choices, dict):  # `db`, `agent`: their own subcommands
                for word, inner in action.choices.items():
                    walk(f"{name} {word}", inner)
                continue
            assert action.help, f"chatops {name}: {action.dest} has no help"

    for name, command in sub.choices.items():  # type: ignore[attr-defined]
        walk(name, command)
    serve = sub.choices["serve"].format_help()  # type: ignore[attr-defined]
    assert "/api/v1" in serve and "/mcp" in serve


def test_unknown_people_are_named_and_nobody_named_is_said(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 0
    said(capsys)
    assert cli(["approve", "1", "--as", "U_LAED", *common]) == 2
    assert "unknown user 'U_LAED' (did you mean U_LEAD?)" in said(capsys)
    assert cli(["plan", "deploy", "web", "--as", "U_CDOER", *common]) == 2
    assert "unknown user 'U_CDOER' (did you mean U_CODER?)" in said(capsys)
    assert cli(["run", "deploy", "web", *common]) == 2  # no --as: nobody asks
    assert "say who asks for it: --as USER" in said(capsys)
    assert cli(["plan", "deploy", "web", *common]) == 0  # a preview needs nobody


def test_a_link_without_its_key_is_a_configuration_error(
    common: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CHATOPS_LINK_SECRET", "SLACK_SIGNING_SECRET", "CHATOPS_SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 0
    said(capsys)
    assert cli(["show", "1", "--link", "--as", "U_LEAD", *common]) == 2
    assert "set CHATOPS_LINK_SECRET (or SLACK_SIGNING_SECRET)" in said(capsys)
