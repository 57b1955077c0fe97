"""The operational files say what they should: non-root image with a health check, the
compose file runs migrations before serving, the unit upgrades the schema first."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert "chatops db upgrade && exec chatops serve --http" in text
    assert "SLACK_" not in text  # no secrets baked in


def test_compose_has_postgres_and_no_secrets() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert doc["services"]["db"]["image"].startswith("postgres:")
    env = doc["services"]["chatops"]["environment"]
    assert env["CHATOPS_DATABASE_URL"].startswith("postgresql://")
    assert all(str(v).startswith("${") or "${" in str(v) for k, v in env.items() if "SLACK" in k)
    assert doc["services"]["chatops"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_systemd_unit_upgrades_before_it_serves() -> None:
    text = (ROOT / "deploy" / "chatops.service").read_text()
    assert "ExecStartPre=/opt/chatops/bin/chatops db upgrade" in text
    assert "ExecStart=/opt/chatops/bin/chatops serve" in text
    assert "User=chatops" in text and "EnvironmentFile=" in text
