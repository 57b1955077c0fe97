"""The engine stays pure: it imports no Slack, SSH, SQL or scheduler library."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

ADAPTERS = {
    "slack_bolt",
    "slack_sdk",
    "fabric",
    "invoke",
    "paramiko",
    "sqlalchemy",
    "alembic",
    "apscheduler",
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_engine_imports_no_adapter_library() -> None:
    files = sorted((ROOT / "chatops" / "engine").glob("*.py"))
    assert len(files) > 10
    bad = {str(f.relative_to(ROOT)): sorted(imports(f) & ADAPTERS) for f in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_engine_imports_nothing_outside_itself_but_errors() -> None:
    for f in (ROOT / "chatops" / "engine").glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("chatops")
            ):
                assert node.module.startswith(("chatops.engine", "chatops.errors")), (
                    f,
                    node.module,
                )


def test_no_auto_add_host_key_policy_anywhere() -> None:
    for f in (ROOT / "chatops").rglob("*.py"):
        text = f.read_text()
        assert "AutoAddPolicy" not in text and "WarningPolicy" not in text, f
