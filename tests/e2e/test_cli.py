"""The command line, as a user meets it: clear errors, nothing executed on bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.apps import App
from tests.cli_rig import chatops


def test_every_command_has_help(env: dict[str, str]) -> None:
    for cmd in (
        "check",
        "plan",
        "run",
        "runs",
        "show",
        "audit",
        "report",
        "resume",
        "cancel",
        "done",
        "db",
        "demo",
        "logs",
        "status",
        "postmortem",
        "serve",
        "worker",
        "console",
    ):
        out = chatops(env, cmd, "--help")
        assert out.returncode == 0 and "usage: chatops" in out.stdout, cmd


INJECTIONS = [
    "ref=v1;touch {c}",
    "ref=$(touch {c})",
    "ref=`touch {c}`",
    "ref=v1\ntouch {c}",
    "ref=v1 && touch {c}",
    "service=web;touch {c}",
    "environment=production|touch {c}",
]


@pytest.mark.parametrize("arg", INJECTIONS)
def test_shell_metacharacters_are_refused_and_nothing_runs(
    arg: str, env: dict[str, str], tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    out = chatops(
        env,
        "run",
        "deploy",
        "service=web",
        arg.format(c=canary),
        "--as",
        "U_CODER",
        "--here",
        "--approve-as",
        "U_LEAD",
        "--manual-done",
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "chatops:" in out.stderr and "Traceback" not in out.stderr
    assert not canary.exists()


def test_unknown_service_and_process(env: dict[str, str]) -> None:
    out = chatops(env, "plan", "deploy", "service=nope")
    assert out.returncode == 2 and "unknown service 'nope'" in out.stderr and "web" in out.stderr
    out = chatops(env, "plan", "launch", "service=web")
    assert out.returncode == 2 and "unknown process 'launch'" in out.stderr


def test_malformed_config_names_file_and_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  web:\n    app_dir: [oops\n")
    out = chatops({**env, "CHATOPS_CONFIG": str(bad)}, "check")
    assert out.returncode == 2
    assert str(bad) in out.stderr and "line" in out.stderr and "not valid YAML" in out.stderr


def test_broken_task_json(env: dict[str, str], tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    cases = {
        "not json {": "not JSON",
        json.dumps(
            {"task_id": "t", "objective": "x", "steps": f"touch {canary}"}
        ): "list of strings",
        json.dumps({"task_id": "t;rm", "objective": "x", "steps": ["a"]}): "'task_id' must be",
    }
    for text, message in cases.items():
        out = chatops(
            env,
            "run",
            "deploy",
            "service=web",
            "--import",
            "-",
            "--as",
            "U_CODER",
            "--here",
            "--approve-as",
            "U_LEAD",
            "--manual-done",
            stdin=text,
        )
        assert out.returncode == 2 and message in out.stderr, out.stderr
    assert not canary.exists()


def test_imported_commands_never_run(env: dict[str, str], tmp_path: Path, app: App) -> None:
    canary = tmp_path / "canary"
    task = {
        "target_agent": "production_server",
        "task_id": "t-1",
        "objective": "restart",
        "steps": [f"touch {canary}", f"[restart] touch {canary}"],
        "validation": [],
    }
    out = chatops(
        env,
        "run",
        "--import",
        "-",
        "deploy",
        "service=web",
        "--as",
        "U_CODER",
        "--here",
        "--approve-as",
        "U_LEAD",
        "--manual-done",
        stdin=json.dumps(task),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "task-1 marked done" in out.stdout
    assert not canary.exists()
    assert app.state() == "running v1"  # the runbook's own restart did run


def test_plan_json_is_the_seed_task_format(env: dict[str, str]) -> None:
    out = chatops(env, "plan", "deploy", "service=web", "ref=v2", "--json")
    assert out.returncode == 0, out.stderr
    task = json.loads(out.stdout)
    assert {"target_agent", "task_id", "objective", "steps", "validation"} <= set(task)
    assert task["steps"][0].startswith("[prepare] ")


def test_refused_plan_exits_3_with_reasons(env: dict[str, str]) -> None:
    task = {"task_id": "r-1", "objective": "tidy", "steps": ["Add a new endpoint for labels"]}
    out = chatops(
        env,
        "run",
        "--import",
        "-",
        "refactor",
        "service=web",
        "--as",
        "U_ARCH",
        "--here",
        "--approve-as",
        "U_LEAD",
        stdin=json.dumps(task),
    )
    assert out.returncode == 3
    assert "REFUSED" in out.stdout and "must not mix in new features" in out.stdout


def test_killed_process_leaves_an_interrupted_run(
    env: dict[str, str], tmp_path: Path, app: App
) -> None:
    cfg = yaml.safe_load(Path(env["CHATOPS_CONFIG"]).read_text())
    marker = f"chatops-sleep-{os.getpid()}"
    cfg["services"]["web"]["manager"]["restart"] = f"sleep 120 # {marker}"
    Path(env["CHATOPS_CONFIG"]).write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatops",
            "run",
            "deploy",
            "service=web",
            "ref=v2",
            "--as",
            "U_CODER",
            "--here",
            "--approve-as",
            "U_LEAD",
            "--manual-done",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = env["CHATOPS_DATABASE_URL"].removeprefix("sqlite:///")
    try:
        deadline = time.monotonic() + 60
        step = None
        while time.monotonic() < deadline and step != "restart":
            time.sleep(0.2)
            if Path(db).exists():
                with sqlite3.connect(db) as c:
                    try:
                        row = c.execute("SELECT current_step FROM runs").fetchone()
                    except sqlite3.OperationalError:  # the schema is still being made
                        continue
                    step = row[0] if row else None
        assert step == "restart"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        subprocess.run(["pkill", "-f", marker])
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    out = chatops(env, "runs")  # reading changes nothing, not even a dead run's state
    assert re.search(r"^1 +running +deploy", out.stdout, re.M) and out.stderr == ""
    assert chatops(env, "show", "1").returncode == 0 and chatops(env, "audit").returncode == 0
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before
    rec = chatops(env, "recover")
    assert "run #1 was left running by a dead process: now interrupted" in rec.stdout
    out = chatops(env, "runs")
    assert "interrupted" in out.stdout and "restart" in out.stdout
    again = chatops(env, "recover")
    assert "no run was left running" in again.stdout  # recovered once, not re-run
    audit = chatops(env, "audit", "1")
    assert "run.interrupted" in audit.stdout and "at step restart" in audit.stdout
    assert app.head() == app.revs["v2"]  # it had pulled before it died; nothing re-ran


def test_ctrl_c_in_the_terminal_running_it_leaves_it_interrupted_and_resumable(
    env: dict[str, str],
) -> None:
    """`--here`: the terminal is the run's worker. Ctrl-C (SIGINT) in the middle of a step
    stops it there: the run is interrupted at once, visibly, and a lead resumes it."""
    cfg = yaml.safe_load(Path(env["CHATOPS_CONFIG"]).read_text())
    marker = f"chatops-ctrl-c-{os.getpid()}"
    cfg["services"]["web"]["install"] = f"sleep 120 # {marker}"
    Path(env["CHATOPS_CONFIG"]).write_text(yaml.safe_dump(cfg))
    words = "run deploy service=web ref=v2 --as U_CODER --here --approve-as U_LEAD --manual-done"
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "chatops", *words.split()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode:
            assert time.monotonic() < deadline, "the install step never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _out, err = proc.communicate(timeout=30)
            raise AssertionError(err[-6000:])
    finally:
        subprocess.run(["pkill", "-f", marker])
    assert proc.returncode == 130, err
    assert "run #1: interrupted; `chatops resume 1 --as LEAD` goes on" in err
    shown = chatops(env, "show", "1").stdout
    assert "stopped with Ctrl-C in the terminal running it" in shown
    assert "run.interrupted" in chatops(env, "audit", "1").stdout  # at once, visibly
    assert chatops(env, "resume", "1", "--as", "U_LEAD").returncode == 0  # resumable


def test_check_warns_when_a_runbook_cannot_run_on_a_service(env: dict[str, str]) -> None:
    out = chatops(env, "check")
    assert out.returncode == 0, out.stderr
    assert "runbooks" in out.stdout and "ok" in out.stdout
    assert "warning: migration cannot run on web" in out.stdout
    assert "'backup' action" in out.stdout


def test_serve_without_slack_tokens_says_what_is_missing(env: dict[str, str]) -> None:
    clean = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    out = chatops(clean, "serve", timeout=60)
    assert out.returncode == 2 and "SLACK_BOT_TOKEN is not set" in out.stderr


def test_json_logs_are_one_object_a_line(env: dict[str, str]) -> None:
    logged = {**env, "CHATOPS_LOG_FORMAT": "json", "CHATOPS_LOG_LEVEL": "info"}
    out = chatops(
        logged,
        "run",
        "deploy",
        "service=web",
        "ref=v2",
        "--as",
        "U_CODER",
        "--here",
        "--approve-as",
        "U_LEAD",
        "--manual-done",
        fresh=True,  # its logging is set up once per process
    )
    assert out.returncode == 1  # the fixture's health URL answers nothing: rolled back
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.strip()]
    audit = [x for x in lines if x["logger"] == "chatops.audit"]
    assert len(audit) >= 5 and {"ts", "level", "msg", "action", "actor", "run_id"} <= set(audit[0])


def test_log_records_are_redacted() -> None:
    import io
    import logging

    from chatops.engine.redact import Redactor
    from chatops.logs import JsonFormatter, RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(["hunter2-hunter2"])))
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("chatops.test.redact")
    log.addHandler(handler)
    log.warning("login with %s and xoxb-1234567890-abcdefghij", "hunter2-hunter2")
    log.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert "hunter2" not in record["msg"] and "xoxb-" not in record["msg"]
    assert record["msg"].count("[REDACTED]") == 2


def test_logs_and_status_from_the_terminal(env: dict[str, str], app: App) -> None:
    (app.app_dir / "logs" / "web-out.log").write_text("".join(f"line {i}\n" for i in range(1, 50)))
    out = chatops(env, "logs", "web", "lines=3", "grep=line 4", "--as", "U_ONCALL")
    assert out.returncode == 0, out.stderr
    assert "== local: ok" in out.stdout and "line 49" in out.stdout and "line 46" not in out.stdout
    denied = chatops(env, "logs", "web", "--as", "U_ARCH")  # the architect reads no logs
    assert denied.returncode == 3 and "only coder, lead, oncall may read logs" in denied.stderr
    status = chatops(env, "status", "web")
    assert status.returncode == 0, status.stderr
    assert "web / production" in status.stdout and "local: " in status.stdout
    assert "health: unreachable" in status.stdout


def test_a_refused_break_glass_leaves_no_stray_run(env: dict[str, str]) -> None:
    """`run --approve-as` someone who may not approve (the requester, not a lead): the run
    it made is cancelled, audited, and says so; without approvers it says how to end it."""
    for approver in ("U_CODER", "U_ONCALL"):  # four-eyes; not a lead
        out = chatops(
            env, "run", "deploy", "web", "--as", "U_CODER", "--here", "--approve-as", approver
        )
        assert out.returncode != 0 and "cancelled, its approval was refused" in out.stderr
    runs = chatops(env, "runs")
    assert "awaiting_approval" not in runs.stdout and runs.stdout.count("cancelled") == 2
    audit = chatops(env, "audit", "1")
    assert "run.cancelled" in audit.stdout and "denied.approve" in audit.stdout
    out = chatops(env, "run", "deploy", "web", "--as", "U_CODER")
    assert out.returncode == 0 and "chatops cancel 3 --as U_CODER" in out.stderr  # it waits


def test_plan_gives_the_verdict_run_would_give(env: dict[str, str]) -> None:
    """`chatops plan` never says ok where `chatops run` refuses: a requester without the
    role, a freeze in force."""
    ok = chatops(env, "plan", "deploy", "web", "--as", "U_CODER")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    nobody = chatops(env, "plan", "deploy", "web", "--as", "mallory")
    assert nobody.returncode == 2 and "unknown user 'mallory'" in nobody.stderr  # a typo?
    run = chatops(env, "run", "deploy", "web", "--as", "mallory")
    assert run.returncode == 2  # the same answer from run, before anything is made
    frozen = chatops(
        env, "freeze", "web", "--for", "1h", "--reason", "db failover", "--as", "U_LEAD"
    )
    assert frozen.returncode == 0, frozen.stderr
    held = chatops(env, "plan", "deploy", "web", "--as", "U_CODER")
    assert held.returncode == 3 and "change freeze" in held.stdout, held.stdout
    assert chatops(env, "run", "deploy", "web", "--as", "U_CODER").returncode != 0


def test_a_hotfix_from_the_terminal_says_its_post_mortem_is_open_and_it_is_written_there(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from chatops.cli.main import main as cli

    where = ["--config", env["CHATOPS_CONFIG"], "--commands", env["CHATOPS_COMMANDS"]]
    where += ["--database-url", env["CHATOPS_DATABASE_URL"]]

    def run(*args: str) -> tuple[int, str, str]:
        code = cli([*args, *where])
        out = capsys.readouterr()
        return code, out.out, out.err

    _, _, err = run(
        *("run", "hotfix", "web", "ref=main", "--text", "labels down", "--as", "U_ONCALL"),
        *("--here", "--approve-as", "U_LEAD", "--manual-done"),
    )
    assert "run #1 was a hotfix: its post-mortem is open" in err, err
    assert "chatops postmortem 1 --write --as USER" in err
    answers = ["--why", "a bad template", "--prevent", "a test", "--process", "review"]
    code, _, err = run("postmortem", "1", "--write", "--as", "U_CODER", *answers, "--docs", "d")
    assert code == 3 and "only the post-mortem's owners" in err
    code, _, err = run("postmortem", "1", "--write", "--as", "U_ONCALL", *answers)
    assert code == 1 and "please answer: Which documentation was updated?" in err
    code, out, err = run("postmortem", "1", "--write", "--as", "U_ONCALL", *answers, "--docs", "d")
    assert code == 0 and "written by U_ONCALL" in out, err
    _, out, _ = run("postmortem", "1", "--markdown")
    assert "a bad template" in out and "## Timeline" in out
    _, trail, _ = run("audit", "1")
    assert "denied.postmortem" in trail and "postmortem.written" in trail


@pytest.mark.parametrize("words", [("runs",), ("show", "1"), ("audit", "1"), ("report",)])
def test_a_reader_that_goes_away_ends_it_quietly(
    env: dict[str, str], words: tuple[str, ...]
) -> None:
    """`chatops show 1 | head -1`: the reader gone, chatops stops as Unix tools do (no
    traceback, 141 or 0), whatever it was printing."""
    assert chatops(env, "run", "deploy", "web", "--as", "U_CODER").returncode == 0
    read, write = os.pipe()
    os.close(read)  # the reader left before a byte was written: every write meets EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "chatops", *words],
            env=env,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_show_lists_each_step_once_and_says_http_for_a_health_check(
    tmp_path: Path, app: App
) -> None:
    """A deploy on one host that succeeds: `show` gives each step one line (never `pull:`
    and again `pull@local:`), and the bot's health request ends in "HTTP 200", not "exit"."""
    from tests.apps import health_server, service_config

    with health_server(app) as health:
        cfg = service_config(app, health, [{"name": "local", "transport": "local"}])
        (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
        env = {
            **os.environ,
            "CHATOPS_CONFIG": str(tmp_path / "chatops.yml"),
            "CHATOPS_COMMANDS": str(Path(__file__).parents[2] / "commands"),
            "CHATOPS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        }
        words = "run deploy service=web ref=v2 --as U_CODER --here --approve-as U_LEAD"
        done = chatops(env, *words.split(), "--manual-done")
        assert done.returncode == 0, done.stdout + done.stderr
    shown = chatops(env, "show", "1").stdout
    steps = [line for line in shown.splitlines() if line.startswith("  [main] ")]
    names = [line.split()[1].split("@")[0].rstrip(":") for line in steps]
    assert names and len(names) == len(set(names)), steps  # each step once
    health = next(line for line in steps if "health" in line)
    assert "HTTP 200" in health and "exit" not in health, health
    assert "error:" not in shown and "course:" not in shown  # a plain run: no history
    # the audit trail holds each machine step's start and end, per host
    trail = chatops(env, "audit", "1").stdout
    assert re.search(r"step\.started\s+pull on local", trail), trail
    assert re.search(r"step\.finished\s+pull on local: succeeded, exit 0", trail)
    assert re.search(r"step\.finished\s+health on bot: succeeded, HTTP 200", trail)
