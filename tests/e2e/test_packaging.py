"""The operational files say what they should: non-root image with a health check, the
compose file runs migrations before serving, the unit upgrades the schema first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert "chatops db upgrade && exec chatops serve --mode auto" in text  # socket or http
    assert "SLACK_" not in text  # no secrets baked in


def test_compose_has_postgres_and_no_secrets() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert doc["services"]["db"]["image"].startswith("postgres:")
    env = doc["services"]["chatops"]["environment"]
    assert env["CHATOPS_DATABASE_URL"].startswith("postgresql://")
    assert all(str(v).startswith("${") or "${" in str(v) for k, v in env.items() if "SLACK" in k)
    assert {"SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} <= set(env)  # either mode, by the env
    assert doc["services"]["chatops"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_systemd_unit_upgrades_before_it_serves() -> None:
    text = (ROOT / "deploy" / "chatops.service").read_text()
    assert "ExecStartPre=/opt/chatops/bin/chatops db upgrade" in text
    assert "ExecStart=/opt/chatops/bin/chatops serve --mode auto" in text
    assert "User=chatops" in text and "EnvironmentFile=" in text


def test_the_package_metadata_builds_without_warnings(tmp_path: Path) -> None:
    """The licence is an SPDX string and every package-data pattern matches a file."""
    import subprocess
    import sys
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "Apache-2.0"
    for pattern in meta["tool"]["setuptools"]["package-data"]["chatops"]:
        assert list((ROOT / "chatops").glob(pattern)), f"package-data {pattern} matches nothing"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "deprecated" not in (out.stdout + out.stderr).lower()
    wheel = next(tmp_path.glob("chatops-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "chatops/demo/democtl.py" in names and "chatops/py.typed" in names
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("chatops/runbooks/")}
    assert shipped == {p.name for p in (ROOT / "commands").glob("*.yml")} and len(shipped) == 10


def test_an_installed_chatops_has_its_runbooks_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In an empty folder, without CHATOPS_COMMANDS: the shipped set; `init` copies it into
    ./commands for editing, and then that folder is the one used (in-process: the CLI's own
    entry point, in that folder)."""
    import os

    from chatops.cli.main import main as cli

    for name in [k for k in os.environ if k.startswith(("CHATOPS_", "SLACK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def chatops(*args: str) -> tuple[int, str]:
        code = cli(list(args))
        out = capsys.readouterr()
        return code, out.out + out.err

    try:
        code, said = chatops("init", "--dir", "app")
        assert code == 0, said
        assert "Copied the 10 shipped runbooks into commands/" in said
        assert (tmp_path / "commands" / "migration.yml").read_text() == (
            ROOT / "chatops" / "runbooks" / "migration.yml"
        ).read_text()
        code, said = chatops("check")
        assert code == 0, said
        assert "runbooks commands: ok (config-fix, data-fix, debug, deploy," in said
        (tmp_path / "commands" / "deploy.yml").unlink()  # an edited set is the one used
        assert "deploy," not in chatops("check")[1]
        for rb in (tmp_path / "commands").iterdir():
            rb.unlink()
        (tmp_path / "commands").rmdir()
        code, said = chatops("check")
        assert "(the set shipped with chatops): ok (config-fix, data-fix, debug, deploy," in said
        code, said = chatops("plan", "deploy", "demo", "ref=v2", "--as", "alice")
        assert code == 0 and "policy: ok" in said, said
    finally:
        chatops("demo", "--stop")
