"""When the database or Slack cannot be reached or refuses: one line that names what to
check, exit code 4, never a traceback, and never the database password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chatops.simulator.standin import SlackStandIn
from tests.apps import make_app, service_config
from tests.conftest import ROOT


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens on it once closed


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    app = make_app(tmp_path / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "l", "transport": "local"}])
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_"))}
    e.update(
        CHATOPS_CONFIG=str(tmp_path / "chatops.yml"),
        CHATOPS_COMMANDS=str(ROOT / "commands"),
        CHATOPS_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    return e


def chatops(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatops", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["status", "web"],
        ["run", "deploy", "web", "--as", "U_CODER"],
        ["db", "upgrade"],
        ["runs"],
        ["freezes"],
        ["check"],
    ],
    ids=lambda a: " ".join(a),
)
def test_an_unreachable_database_is_one_line_and_exit_4(
    env: dict[str, str], args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process (the CLI's own entry point, as the `chatops` script calls it)."""
    from chatops.cli.main import main as cli

    url = f"postgresql://chatops:s3cret-pw@127.0.0.1:{closed_port()}/chatops"
    where = ["--config", env["CHATOPS_CONFIG"], "--commands", env["CHATOPS_COMMANDS"]]
    assert cli([*args, *where, "--database-url", url]) == 4
    said = capsys.readouterr().err
    [line] = said.strip().splitlines()
    assert line.startswith("chatops: the database at postgresql://chatops:***@127.0.0.1:")
    assert "check CHATOPS_DATABASE_URL" in line and "s3cret-pw" not in said


def test_a_token_slack_refuses_is_one_line_and_exit_4(env: dict[str, str]) -> None:
    standin = SlackStandIn().start()
    standin.tokens = {"xoxb-good"}
    try:
        out = chatops(
            {
                **env,
                "SLACK_BOT_TOKEN": "xoxb-revoked",
                "SLACK_SIGNING_SECRET": "s",
                "CHATOPS_SLACK_API_URL": standin.api_url,
            },
            "serve",
            "--http",
            "--port",
            str(closed_port()),
        )
    finally:
        standin.stop()
    assert out.returncode == 4, out.stderr
    [line] = out.stderr.strip().splitlines()  # not even bolt's "token will be unused"
    assert line.startswith("chatops: Slack refused the bot token (") and "invalid_auth" in line
    assert "check SLACK_BOT_TOKEN" in line
    assert "will be unused" not in out.stderr


def test_slack_unreachable_is_one_line_and_exit_4(env: dict[str, str]) -> None:
    out = chatops(
        {
            **env,
            "SLACK_BOT_TOKEN": "xoxb-x",
            "SLACK_SIGNING_SECRET": "s",
            "CHATOPS_SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
        },
        "serve",
        "--http",
        "--port",
        str(closed_port()),
    )
    assert out.returncode == 4, out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("chatops: cannot reach Slack's Web API (") and "refused" in line


def test_check_reads_the_database_and_with_connect_asks_slack(env: dict[str, str]) -> None:
    out = chatops(env, "check")
    assert out.returncode == 0, out.stderr
    assert "database sqlite:///" in out.stdout and "not created yet" in out.stdout
    standin = SlackStandIn().start()
    standin.tokens = {"xoxb-good"}
    try:
        for token, code, said in (
            ("xoxb-good", 0, "slack: ok (workspace Test, bot chatops)"),
            ("xoxb-old", 1, "slack: the bot token is refused (invalid_auth)"),
        ):
            slack = {"SLACK_BOT_TOKEN": token, "CHATOPS_SLACK_API_URL": standin.api_url}
            out = chatops({**env, **slack}, "check", "--connect")
            assert out.returncode == code, out.stdout + out.stderr
            assert said in out.stdout
    finally:
        standin.stop()
