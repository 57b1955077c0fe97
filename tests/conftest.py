"""Shared fixtures: the real runbooks, a config like the seed team's, a fresh store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatops.config_files import load_runbooks
from chatops.engine.config import Config
from chatops.engine.runbook import Runbook

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(what: str, install: str) -> None:
    """Fail under CI, skip elsewhere with what to install."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {install}")
    pytest.skip(f"{what} not available: {install}")


@pytest.fixture(scope="session")
def runbooks() -> dict[str, Runbook]:
    return load_runbooks(ROOT / "commands")


def eck_config(**overrides: object) -> Config:
    """An inventory like the seed team's: a PM2 Node service behind Nginx, on PostgreSQL."""
    data: dict[str, object] = {
        "services": {
            "eckwms-global": {
                "app_dir": "/var/www/eckwms/services/eckwms-global",
                "install": "npm install --omit=dev",
                "manager": {"type": "pm2", "name": "eckwms-global"},
                "logs": {
                    "type": "file",
                    "paths": ["{app_dir}/logs/eckwms-global-out.log"],
                    "error_paths": ["{app_dir}/logs/eckwms-global-error.log"],
                },
                "health": {
                    "url": "http://127.0.0.1:8080/ECK/health",
                    "expect_json": {"status": "healthy"},
                },
                "database": {
                    "name": "eckwms",
                    "backup": "pg_dump --format=custom --file={backup_file} {database}",
                    "migrate": "node {script}",
                    "verify": "node scripts/verify-integrity.js",
                    "ping": "pg_isready -d {database}",
                },
                "environments": {
                    "production": {"hosts": [{"name": "prod-1", "address": "10.0.0.5"}]},
                    "staging": {"hosts": [{"name": "stage-1", "address": "10.0.1.5"}]},
                },
            }
        },
        "roles": {
            "coder": {"users": ["U_CODER"]},
            "oncall": {"users": ["U_ONCALL"]},
            "lead": {"users": ["U_LEAD", "U_LEAD2"]},
            "architect": {"users": ["U_ARCH"]},
            "requester": {"users": ["U_REQ", "U_CODER", "U_ARCH", "U_LEAD"]},
        },
    }
    data.update(overrides)
    return Config.model_validate(data)


@pytest.fixture
def config() -> Config:
    return eck_config()
