"""Agent identities: a token shown once and stored hashed; revocable; expiring; every
refusal audited. On the in-memory store, on SQLite and PostgreSQL, and through the CLI."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.agents.service import AgentService
from chatops.engine.domain.identity import Agent
from chatops.engine.domain.roles import Roles
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from chatops.engine.redact import Redactor
from chatops.errors import NotFound, ParameterError, PermissionDenied
from tests.cli_rig import chatops
from tests.factories import NOW, Each, sql
from tests.memory import MemoryDatabase


@pytest.fixture
def agents(config: Config, runbooks: dict[str, Runbook]) -> tuple[AgentService, ManualClock]:
    clock = ManualClock(NOW)
    return AgentService(
        MemoryDatabase().transactions(clock), clock, config, runbooks, Roles(config)
    ), clock


def test_a_token_works_until_it_is_revoked(agents: tuple[AgentService, ManualClock]) -> None:
    service, _clock = agents
    agent, token = service.add("architect-agent", "architect", by="U_LEAD")
    assert token.startswith("chatops-agent-") and len(token) > 50
    assert service.authenticate(token) == agent
    service.revoke("architect-agent", by="U_LEAD")
    with pytest.raises(PermissionDenied, match="revoked"):
        service.authenticate(token)
    with pytest.raises(ParameterError, match="revoked already"):
        service.revoke("architect-agent", by="U_LEAD")
    with pytest.raises(NotFound):
        service.revoke("nobody", by="U_LEAD")


def test_only_a_lead_gives_or_takes_a_token_whatever_the_front_end(
    agents: tuple[AgentService, ManualClock],
) -> None:
    service, _clock = agents
    with pytest.raises(PermissionDenied, match="only a lead"):
        service.add("coder-agent", "coder", by="U_CODER")
    service.add("coder-agent", "coder", by="U_LEAD")
    with pytest.raises(PermissionDenied, match="only a lead"):
        service.revoke("coder-agent", by="U_ARCH")
    assert [a.state(NOW) for a in service.list()] == ["active"]
    with service.tx() as t:
        rows = [(e.actor, e.action) for e in reversed(t.audit.recent())]
    assert rows == [
        ("U_CODER", "denied.agent_add"),
        ("U_LEAD", "agent.added"),
        ("U_ARCH", "denied.agent_revoke"),
    ]


def test_wrong_missing_and_expired_tokens_are_refused_and_audited(
    agents: tuple[AgentService, ManualClock],
) -> None:
    service, clock = agents
    _agent, token = service.add("coder-agent", "coder", by="U_LEAD", expires=timedelta(days=30))
    for bad in ("", "chatops-agent-not-a-token", token[:-1]):
        with pytest.raises(PermissionDenied, match="unknown agent token"):
            service.authenticate(bad)
    clock.advance(timedelta(days=30))
    with pytest.raises(PermissionDenied, match="expired"):
        service.authenticate(token)
    with service.tx() as t:
        denied = [e for e in t.audit.recent() if e.action == "denied.agent"]
        added = [e for e in t.audit.recent() if e.action == "agent.added"]
    assert len(denied) == 4 and all(token not in e.detail for e in denied)
    assert denied[0].actor == "agent:coder-agent" and "expired" in denied[0].detail
    assert added[0].actor == "U_LEAD" and "role coder" in added[0].detail


def test_names_roles_and_scope_are_checked(agents: tuple[AgentService, ManualClock]) -> None:
    service, _clock = agents
    for name, role, kw, why in (
        ("Bad Name", "coder", {}, "agent name"),
        ("ok-agent", "lead", {}, "role 'lead'"),
        ("ok-agent", "coder", {"services": ["nope"]}, "unknown service"),
        ("ok-agent", "coder", {"processes": ["nope"]}, "unknown process"),
    ):
        with pytest.raises(ParameterError, match=why):
            service.add(name, role, by="U_LEAD", **kw)  # type: ignore[arg-type]
    service.add("ok-agent", "coder", by="U_LEAD", services=["eckwms-global"])
    with pytest.raises(ParameterError, match="exists already"):
        service.add("ok-agent", "architect", by="U_LEAD")
    [listed] = service.list()
    assert listed.services == ("eckwms-global",) and listed.state(NOW) == "active"


def test_agent_tokens_are_redacted_like_other_tokens() -> None:
    from chatops.engine.domain.identity import new_token

    token = new_token()
    said = Redactor([])(f"curl -H 'Authorization: Bearer {token}'")
    assert token not in said and "[REDACTED]" in said


def test_the_sql_store_keeps_only_the_hash(db_url: str) -> None:
    agents = Each(sql(db_url), "agents")
    agent = Agent("a-agent", "architect", ("web",), (), "U_LEAD", NOW)
    assert agents.add(agent, hashlib.sha256(b"secret").hexdigest())
    assert not agents.add(agent, hashlib.sha256(b"other").hexdigest())  # name taken
    assert agents.by_token_hash(hashlib.sha256(b"secret").hexdigest()) == agent
    assert agents.by_token_hash(hashlib.sha256(b"other").hexdigest()) is None
    assert agents.revoke("a-agent", NOW + timedelta(hours=1))
    assert not agents.revoke("a-agent", NOW + timedelta(hours=2))
    assert agents.get("a-agent").revoked_at == NOW + timedelta(hours=1)


def test_the_cli_adds_lists_and_revokes_agents(env: dict[str, str], tmp_path: Path) -> None:
    refused = chatops(env, "agent", "add", "coder-agent", "--role", "coder", "--as", "U_CODER")
    assert refused.returncode == 3 and "only a lead" in refused.stderr
    add = ("agent", "add", "coder-agent", "--role", "coder", "--expires", "30d")
    odd = chatops(env, *add, "--for", "U_CODER,dana", "--as", "U_LEAD")
    assert odd.returncode == 2 and "'dana': Slack user ids" in odd.stderr
    added = chatops(env, *add, "--for", "U_CODER, U_ONCALL", "--as", "U_LEAD")
    assert added.returncode == 0, added.stderr
    token = added.stdout.splitlines()[1]
    assert token.startswith("chatops-agent-")
    listed = chatops(env, "agent", "list")
    assert "coder-agent" in listed.stdout and "active" in listed.stdout
    assert "ACTS FOR" in listed.stdout and "U_CODER,U_ONCALL" in listed.stdout
    assert token not in listed.stdout
    db = sqlite3.connect(tmp_path / "c.db")
    [(stored,)] = db.execute("SELECT token_hash FROM agents").fetchall()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    dump = "\n".join(db.iterdump())
    assert token not in dump and token.removeprefix("chatops-agent-") not in dump
    actions = [a for (a,) in db.execute("SELECT action FROM audit_events")]
    assert actions == ["denied.agent_add", "agent.added"]
    db.close()
    revoked = chatops(env, "agent", "revoke", "coder-agent", "--as", "U_LEAD")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert "revoked" in chatops(env, "agent", "list").stdout


def agent(role: str, **kw: tuple[str, ...]) -> Agent:
    return Agent(f"{role}-agent", role, kw.get("services", ()), kw.get("processes", ()), "U", NOW)


def test_the_coder_agent_proposes_alone_only_what_needs_no_architect(
    runbooks: dict[str, Runbook],
) -> None:
    from chatops.engine.domain.agent_rules import proposal_refusal

    coder, architect = agent("coder"), agent("architect")
    for process in ("deploy", "debug", "config-fix"):
        assert proposal_refusal(coder, runbooks[process], "eckwms-global") is None, process
    assert "must NOT change the database schema" in str(
        proposal_refusal(coder, runbooks["migration"], "eckwms-global")
    )
    assert "must NOT add new features" in str(
        proposal_refusal(coder, runbooks["feature"], "eckwms-global")
    )
    assert "must NOT change the API" in str(
        proposal_refusal(coder, runbooks["endpoint"], "eckwms-global")
    )
    assert proposal_refusal(coder, runbooks["refactor"], "eckwms-global") is not None
    for process in runbooks:
        assert proposal_refusal(architect, runbooks[process], "eckwms-global") is None, process


def test_an_agents_scope_narrows_what_it_may_propose(runbooks: dict[str, Runbook]) -> None:
    from chatops.engine.domain.agent_rules import proposal_refusal

    narrow = agent("architect", services=("web",), processes=("deploy",))
    assert proposal_refusal(narrow, runbooks["deploy"], "web") is None
    assert "only on web" in str(proposal_refusal(narrow, runbooks["deploy"], "eckwms-global"))
    assert "only deploy" in str(proposal_refusal(narrow, runbooks["migration"], "web"))


def test_an_agent_never_approves_a_plan_or_a_gate(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    from tests.factories import rig

    r = rig(MemoryDatabase(), config, runbooks)
    req = r.changes.request("deploy", {"service": "eckwms-global"}, requester="U_CODER")
    with pytest.raises(PermissionDenied, match="an agent never approves"):
        r.changes.approve(req.run.id, "agent:architect-agent", req.plan.sha256)
    status = r.changes.approval_status(r.store.get_run(req.run.id), req.plan)
    assert status.approvers == () and not status.complete  # nothing counted
    assert "denied.approve" in r.audit_actions(req.run.id)


def test_agents_propose_under_the_seeds_rules_and_people_approve(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    from chatops.engine.domain.run import RunState
    from tests.factories import rig

    r = rig(MemoryDatabase(), config, runbooks)
    coder, architect = agent("coder"), agent("architect")
    migration = {"service": "eckwms-global", "script": "scripts/add-status.js"}
    with pytest.raises(PermissionDenied, match="must NOT change the database schema"):
        r.changes.proposals.propose(coder, "migration", migration, reason="add a column")
    with r.tx() as t:
        [denied] = [e for e in t.audit.recent() if e.action == "denied.propose"]
    assert denied.actor == "agent:coder-agent" and "database schema" in denied.detail

    made = r.changes.proposals.propose(
        architect, "deploy", {"service": "eckwms-global"}, reason="ship v2", on_behalf_of="U_LEAD"
    )
    assert made.run.requester == "agent:architect-agent"
    assert made.plan.on_behalf_of == "U_LEAD" and made.plan.request == "ship v2"
    with pytest.raises(PermissionDenied, match="four-eyes"):  # the person it acts for
        r.changes.approve(made.run.id, "U_LEAD", made.plan.sha256)
    status = r.changes.approve(made.run.id, "U_LEAD2", made.plan.sha256)
    assert status.complete and status.run.state == RunState.QUEUED
    assert status.approvers == ("U_LEAD2",)


def test_a_plan_stored_before_new_fields_keeps_its_hash(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    """Plans stored before on_behalf_of, approval_rule, rolling batches and scheduled starts
    existed hash as
    they did: a field left at None is not part of the canonical form."""
    import json

    from tests.factories import plan_for

    plan = plan_for(runbooks, config).model_copy(update={"approval_rule": None, "required": []})
    before = {
        k: v
        for k, v in plan.model_dump(mode="json").items()
        if k not in ("on_behalf_of", "approval_rule", "required", "start", "facts")
    }
    for step in [*before["steps"], *before["rollback"]]:
        del step["batch"], step["max_failures"], step["max_parallel"]
    text = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert plan.sha256 == hashlib.sha256(text.encode()).hexdigest()  # stored plans still load
    acting = plan.model_copy(update={"on_behalf_of": "U2"})
    assert b'"on_behalf_of":"U2"' in acting.canonical() and acting.sha256 != plan.sha256
