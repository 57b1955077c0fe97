"""Roles change without a restart, against a real `chatops serve --http`: a person taken out
of a role in chatops.yml can no longer open a run's page with a link made before (on the
next request, after SIGHUP or the file watch); a broken file keeps the config in force and
says why (/healthz, the audit trail); /healthz shows the config's hash."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from chatops.adapters.config_reload import ConfigReload
from chatops.engine.planning.config import Config
from chatops.engine.redact import Redactor
from tests.cli_rig import chatops
from tests.conftest import ROOT
from tests.serve_process import Serve, sqlite_serve


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def healthz(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        return dict(json.loads(r.read()))


def until(check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Serve, Path, dict[str, str]]]:
    # only SIGHUP here: the file watch has its own test
    with sqlite_serve(tmp_path, CHATOPS_RELOAD_EVERY="3600") as started:
        yield started


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return chatops(env, *args, fresh=True)


def test_a_person_taken_out_of_a_role_loses_the_page_at_once(
    world: tuple[Serve, Path, dict[str, str]],
) -> None:
    serve, path, env = world
    assert serve.proc is not None
    env = {**env, "CHATOPS_PUBLIC_URL": f"http://127.0.0.1:{serve.port}"}
    assert cli(env, "run", "deploy", "web", "--as", "U_CODER").returncode == 0  # it waits
    links = {
        u: cli(env, "show", "1", "--link", "--as", u).stdout.splitlines()[0]
        for u in ("U_ONCALL", "U_CODER")
    }
    assert all(link.startswith("http://") for link in links.values()), links
    assert get(links["U_ONCALL"]) == 200
    first = healthz(serve.port)["config"]
    assert isinstance(first, dict) and first["refused"] is None

    cfg = yaml.safe_load(path.read_text())
    cfg["roles"]["oncall"]["users"] = []  # U_ONCALL is no longer on call
    path.write_text(yaml.safe_dump(cfg))
    serve.proc.send_signal(signal.SIGHUP)
    until(lambda: healthz(serve.port)["config"] != first)
    assert get(links["U_ONCALL"]) == 403  # the same link, made before: the roles in force
    assert get(links["U_CODER"]) == 200

    path.write_text("services: [not: valid\n")  # broken: the config in force stays
    serve.proc.send_signal(signal.SIGHUP)
    until(lambda: isinstance(h := healthz(serve.port)["config"], dict) and h["refused"])
    said = healthz(serve.port)
    assert said["status"] == "ok"  # still serving, with the config in force
    assert "not valid YAML" in str(said["config"])
    assert get(links["U_CODER"]) == 200 and get(links["U_ONCALL"]) == 403
    trail = cli(env, "audit", "--limit", "50").stdout
    assert "config.reloaded" in trail and "config.refused" in trail
    assert "denied.view" in trail


def test_the_file_watch_sees_a_change_and_validates_it_first(tmp_path: Path) -> None:
    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump({"roles": {"lead": {"users": ["U_LEAD"]}}}))
    config = Config.model_validate(yaml.safe_load(path.read_text()))
    books: dict[str, object] = {}
    said: list[tuple[str, str]] = []
    reload = ConfigReload(
        path,
        ROOT / "commands",
        config,
        books,
        Redactor(),
        lambda a, d: said.append((a, d)),  # type: ignore[arg-type]
    )
    assert not reload.check()  # nothing changed
    time.sleep(0.01)
    path.write_text(yaml.safe_dump({"roles": {"lead": {"users": ["U_NEW"]}}}))
    assert reload.check()
    assert config.roles["lead"].users == ["U_NEW"]  # the Config every service holds
    assert "deploy" in books and said[-1][0] == "config.reloaded"
    path.write_text("roles: {lead: {users: [U_X], extra: 1}}\n")
    assert not reload.check()
    assert config.roles["lead"].users == ["U_NEW"]  # refused: the one in force stays
    assert reload.state.error is not None and "extra" in reload.state.error
    assert said[-1][0] == "config.refused"
