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
    assert cli(["postmortem", "2", *common]) == 1
    assert "run 2 has no post-mortem" in said(capsys)
    assert cli(["audit", "export", "--run", "42", *common]) == 1
    assert "no run #42" in said(capsys)


def test_runs_by_state_and_lists_with_headers(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["runs", "--state", "interrupted", *common]) == 0
    assert "no runs yet" in said(capsys)
    assert cli(["run", "deploy", "web", "--as", "U_CODER", *common]) == 3  # waits for approval
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
    from chatops.cli.demo import init
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
