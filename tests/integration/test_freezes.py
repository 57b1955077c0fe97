"""Change freezes: windows (weekly in a named zone, across a DST change; one-off), ad hoc
freezes by leads, planning refused and starting held (only hotfix and the allowed processes
pass), the held run told once and started when the freeze ends. In memory, on SQLite and
PostgreSQL, and through the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from chatops.engine.approvals.freezing import FreezeService
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import RunState
from chatops.engine.planning.config import Config
from chatops.engine.planning.freezes import FreezePolicy, FreezeWindow
from chatops.engine.planning.runbook import Runbook
from chatops.errors import ParameterError, PermissionDenied, PolicyRefused
from tests.cli_rig import chatops
from tests.conftest import eck_config
from tests.factories import Each, rig, sql
from tests.memory import MemoryDatabase

BERLIN = ZoneInfo("Europe/Berlin")
WEEKEND = {"name": "weekend", "weekly_from": "fri 16:00", "weekly_to": "mon 08:00"}
SERVICE = {"service": "eckwms-global"}

HERE_DEPLOY = ("run", "deploy", "web", "ref=main", "--as", "U_CODER", "--here")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_a_weekly_window_in_its_zone_across_a_dst_change() -> None:
    policy = FreezePolicy(timezone="Europe/Berlin", windows=[FreezeWindow(**WEEKEND)])
    assert policy.active(at(2026, 10, 22, 17, 0)) == []  # Thursday
    assert policy.active(at(2026, 10, 23, 15, 59)) == []  # Friday, just before
    [f] = policy.active(at(2026, 10, 23, 16, 0))
    # summer time ends on Sunday 25 October: Monday 08:00 is +01:00 again
    assert f.until == datetime(2026, 10, 26, 8, 0, tzinfo=BERLIN)
    assert f.until.utcoffset() == timedelta(hours=1)
    assert policy.active(at(2026, 10, 26, 7, 59)) and not policy.active(at(2026, 10, 26, 8, 0))
    assert "until Mon 26 Oct 08:00" in f.describe()


def test_a_one_off_window_and_bad_windows() -> None:
    w = FreezeWindow(
        name="year-end",
        start=datetime(2026, 12, 24),
        end=datetime(2027, 1, 2, 8),
        timezone="Europe/Berlin",
        services=["eckwms-global"],
        reason="holidays",
    )
    assert w.active(at(2026, 12, 23, 23, 59), "UTC") is None
    f = w.active(at(2026, 12, 24, 0, 0), "UTC")
    assert f is not None and f.covers("eckwms-global") and not f.covers("other")
    for bad in (
        {"name": "x", "weekly_from": "friday 4pm", "weekly_to": "mon 08:00"},
        {"name": "x", "weekly_from": "fri 16:00"},
        {"name": "x", "start": datetime(2026, 1, 2), "end": datetime(2026, 1, 1)},
        {
            "name": "x",
            "weekly_from": "fri 16:00",
            "weekly_to": "mon 08:00",
            "timezone": "Mars/Base",
        },
        {"name": "x; rm", "weekly_from": "fri 16:00", "weekly_to": "mon 08:00"},
    ):
        with pytest.raises(ValueError):
            FreezeWindow(**bad)  # type: ignore[arg-type]


def frozen_config(**over: object) -> Config:
    return eck_config(
        freezes={"timezone": "Europe/Berlin", "allow": ["debug"], "windows": [WEEKEND], **over}
    )


def test_during_a_window_only_hotfix_and_the_allowed_processes_are_planned(
    runbooks: dict[str, Runbook],
) -> None:
    r = rig(MemoryDatabase(), frozen_config(), runbooks)
    r.clock.set(at(2026, 10, 23, 18, 0).astimezone(UTC))  # Friday evening
    with pytest.raises(PolicyRefused, match=r"change freeze 'weekend'.*only hotfix, debug"):
        r.changes.request("deploy", dict(SERVICE), requester="U_CODER")
    denied = [e for e in r.audit.recent() if e.action == "denied.request"]
    assert denied and "weekend" in denied[0].detail
    hotfix = r.changes.request(
        "hotfix", {**SERVICE, "ref": "main"}, requester="U_ONCALL", text="down"
    )
    assert hotfix.run.state == RunState.AWAITING_APPROVAL
    r.clock.set(at(2026, 10, 26, 8, 0).astimezone(UTC))  # Monday morning: over
    assert r.changes.request("deploy", dict(SERVICE), requester="U_CODER").verdict.ok


def test_an_approved_run_is_held_told_once_and_started_after(runbooks: dict[str, Runbook]) -> None:
    config = eck_config()
    db = MemoryDatabase()
    r = rig(db, config, runbooks)
    freezes = FreezeService(config, r.tx, r.clock, Roles(config))
    made = r.changes.request("deploy", dict(SERVICE), requester="U_CODER")
    freezes.freeze("eckwms-global", "2h", "incident open", "U_LEAD")
    r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)  # approved during the freeze
    assert r.runner.drain() == [] and r.runner.drain() == []
    assert r.store.get_run(made.run.id).state == RunState.QUEUED
    assert r.events.names().count("RunHeld") == 1  # told once, not at every drain
    [held] = [e for e in r.events.seen if type(e).__name__ == "RunHeld"]
    assert "incident open" in held.reason  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied, match="only a lead"):
        freezes.unfreeze("eckwms-global", "U_CODER")
    assert freezes.unfreeze("eckwms-global", "U_LEAD") == 1
    [ran] = r.runner.drain()
    assert ran.id == made.run.id and ran.state != RunState.QUEUED
    actions = [e.action for e in r.audit.recent()]
    assert {"freeze.added", "freeze.lifted", "denied.unfreeze", "run.held"} <= set(actions)


def test_ad_hoc_freezes_are_for_leads_and_bounded(runbooks: dict[str, Runbook]) -> None:
    config = eck_config()
    r = rig(MemoryDatabase(), config, runbooks)
    freezes = FreezeService(config, r.tx, r.clock, Roles(config))
    with pytest.raises(PermissionDenied):
        freezes.freeze("all", "2h", "why", "U_CODER")
    with pytest.raises(ParameterError, match="unknown service"):
        freezes.freeze("nope", "2h", "why", "U_LEAD")
    with pytest.raises(ParameterError, match="at most 14d"):
        freezes.freeze("all", "15d", "why", "U_LEAD")
    with pytest.raises(ParameterError, match="reason"):
        freezes.freeze("all", "2h", "  ", "U_LEAD")
    f = freezes.freeze("all", "2h", "release night", "U_LEAD")
    assert f.covers("anything") and [x.name for x in freezes.active("eckwms-global")] == [f.name]
    r.clock.advance(timedelta(hours=2))
    assert freezes.active() == []  # it ended by itself


def test_the_sql_store_keeps_ad_hoc_freezes(db_url: str) -> None:
    from tests.factories import NOW

    repo = Each(sql(db_url), "freezes")
    a = repo.add("web", "incident", "U_LEAD", NOW, NOW + timedelta(hours=1))
    repo.add(None, "all of them", "U_LEAD", NOW, NOW + timedelta(hours=3))
    names = [f.name for f in repo.active(NOW + timedelta(minutes=5))]
    assert names == [f"ad hoc #{a}", f"ad hoc #{a + 1}"]
    assert repo.lift("web", "U_LEAD2", NOW + timedelta(minutes=10)) == 1
    [left] = repo.active(NOW + timedelta(minutes=11))
    assert left.services == () and left.by == "U_LEAD"
    assert repo.active(NOW + timedelta(hours=4)) == []


def test_the_cli_freezes_and_unfreezes(env: dict[str, str], tmp_path: Path) -> None:
    denied = chatops(
        env, "freeze", "web", "--for", "2h", "--reason", "db failover", "--as", "U_CODER"
    )
    assert denied.returncode == 3 and "only a lead" in denied.stderr
    ok = chatops(env, "freeze", "web", "--for", "2h", "--reason", "db failover", "--as", "U_LEAD")
    assert ok.returncode == 0 and "change freeze" in ok.stdout, ok.stderr
    listed = chatops(env, "freezes")
    assert "db failover" in listed.stdout and "(by U_LEAD)" in listed.stdout
    refused = chatops(env, *HERE_DEPLOY, "--approve-as", "U_LEAD")
    assert refused.returncode == 3 and "change freeze" in refused.stderr
    lifted = chatops(env, "unfreeze", "web", "--as", "U_LEAD")
    assert lifted.returncode == 0 and "lifted 1 freeze" in lifted.stdout
    assert "no change freeze" in chatops(env, "freezes").stdout
    cfg = yaml.safe_load(Path(env["CHATOPS_CONFIG"]).read_text())
    cfg["freezes"] = {
        "windows": [{"name": "always", "weekly_from": "mon 00:00", "weekly_to": "sun 23:59"}]
    }
    Path(env["CHATOPS_CONFIG"]).write_text(yaml.safe_dump(cfg))
    assert chatops(env, "check").returncode == 0
