"""The operational files say what they should: non-root image with a health check, the
compose file runs migrations before serving, the unit upgrades the schema first."""

from __future__ import annotations

import re
from pathlib import Path

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
