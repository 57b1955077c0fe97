"""/api/v1 on the serve app: an Architect agent proposes a deploy over HTTP, a lead approves
with a Slack-signed click, the agent's long-poll returns approved, the Coder agent reports
its step done with evidence, the run succeeds on the real sshd and the agent reads it.
Then every way in which a call is refused: 400, 401, 403, 404, 409, 429."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent_rig import CHANNEL, DEPLOY, AgentRig, agent_rig, expired_token
from tests.servers import Sshd


@pytest.fixture
def rig(tmp_path: Path, sshd: Sshd) -> Iterator[AgentRig]:
    with agent_rig(tmp_path, sshd, {"requests_per_minute": 600, "burst": 100}) as r:
        r.add("architect-agent", "architect")
        r.add("coder-agent", "coder")
        yield r


def test_propose_approve_in_slack_wait_report_done_and_read_the_result(rig: AgentRig) -> None:
    arch, coder = rig.tokens["architect-agent"], rig.tokens["coder-agent"]
    status, made, _ = rig.api(
        "POST",
        "/plans",
        arch,
        {"process": "deploy", "params": DEPLOY, "reason": "ship v2", "on_behalf_of": "U_CODER"},
    )
    assert status == 201, made
    run_id = made["run"]["id"]
    assert made["run"]["state"] == "awaiting_approval" and made["refusals"] == []
    assert made["plan"]["requester"] == "agent:architect-agent"

    # the agent waits (long-poll) while people look at the plan in Slack
    waited: dict[str, Any] = {}
    t = threading.Thread(
        target=lambda: waited.update(
            answer=rig.api("GET", f"/runs/{run_id}/decision?wait=60", arch)
        )
    )
    t.start()
    rig.until(lambda: rig.slack.plans(CHANNEL))
    [plan_msg] = rig.slack.plans(CHANNEL)
    shown = str(plan_msg.blocks)
    assert ":robot_face: architect-agent on behalf of <@U_CODER>" in shown
    assert "ship v2" in shown

    # four-eyes covers the person the agent acts for; the lead approves
    rig.slack.click("chatops.approve", user="U_CODER")
    rig.slack.click("chatops.approve", user="U_LEAD")
    t.join(timeout=30)
    status, decision, _ = waited["answer"]
    assert status == 200 and decision["decision"] == "approved", decision
    assert decision["approvers"] == ["U_LEAD"]
    told = lambda: [  # noqa: E731 - the person the agent acts for hears of the decision
        m.all_text() for m in rig.slack.standin.channel("U_CODER") if "approved by" in m.all_text()
    ]
    assert "was approved by <@U_LEAD>" in rig.until(told)[0]

    # the run stops at the people's step "prepare" (role coder): the Coder agent reports it
    rig.until(
        lambda: rig.api("GET", f"/runs/{run_id}", arch)[1]["run"]["current_step"] == "prepare"
    )
    status, body, _ = rig.api(
        "POST",
        f"/runs/{run_id}/steps/prepare/done",
        arch,
        {"evidence": "tagged v2"},
    )
    assert status == 403 and "only the Coder agent" in body["error"]
    status, body, _ = rig.api(
        "POST",
        f"/runs/{run_id}/steps/prepare/done",
        coder,
        {"evidence": "v2 tagged; CI green", "links": ["https://ci.example/run/42"]},
    )
    assert status == 200, body

    # the agent follows the same events as Slack until the run ends, then reads the result
    after, kinds = 0, []
    while "RunFinished" not in kinds:
        status, page, _ = rig.api("GET", f"/runs/{run_id}/events?after={after}&wait=30", arch)
        assert status == 200
        kinds += [e["type"] for e in page["events"]]
        after = page["next_after"]
    assert kinds.index("RunApproved") < kinds.index("StepDone") < kinds.index("RunFinished")
    status, report, _ = rig.api("GET", f"/runs/{run_id}", arch)
    assert report["run"]["state"] == "succeeded", report
    hosts = {s["step"]: s for s in report["steps"] if s["host"] == "box-1"}
    assert "installing" in hosts["install"]["output_tail"]
    assert (rig.app.app_dir / "VERSION").read_text().strip() == "v2"

    rig.slack.settle()
    thread = " ".join(m.text for m in rig.slack.thread(plan_msg))
    assert "done by :robot_face: coder-agent" in thread and "CI green" in thread
    calls = [(a, act, d) for a, act, d in rig.audit() if a.startswith("agent:")]
    assert ("agent:architect-agent", "agent.propose", "deploy; on behalf of U_CODER") in calls
    assert any(act == "agent.wait" for _, act, _ in calls)
    assert ("U_CODER", "denied.approve") in [(a, act) for a, act, _ in rig.audit()]


def test_tokens_missing_wrong_revoked_and_expired_get_401(rig: AgentRig) -> None:
    late = expired_token(rig, "late-agent")
    revoked = rig.add("old-agent", "architect")
    rig.slack.wired.agents.revoke("old-agent", by="U_LEAD")
    for token, why in (
        (None, "unknown"),
        ("chatops-agent-forged", "unknown"),
        (revoked, "revoked"),
        (late, "expired"),
    ):
        status, body, headers = rig.api("GET", "/runs", token)
        assert status == 401 and why in body["error"], (token, body)
        assert headers["www-authenticate"].startswith("Bearer")
    status, body, _ = rig.api("GET", "/runs", rig.tokens["coder-agent"], headers={})
    assert status == 200 and body == {"runs": []}


def test_the_coder_agent_is_refused_a_migration_with_the_seeds_reason(rig: AgentRig) -> None:
    status, body, _ = rig.api(
        "POST",
        "/plans",
        rig.tokens["coder-agent"],
        {"process": "migration", "params": {"service": "web"}, "reason": "add a column"},
    )
    assert status == 403
    assert "must NOT change the database schema without the Architect's plan" in body["error"]
    assert ("agent:coder-agent", "denied.propose") in [(a, b) for a, b, _ in rig.audit()]
    status, body, _ = rig.api("GET", "/runbooks", rig.tokens["coder-agent"])
    migration = next(rb for rb in body["runbooks"] if rb["name"] == "migration")
    assert migration["may_propose"] is False and "schema" in migration["why_not"]


def test_a_call_outside_the_agents_scope_gets_403_with_the_reason(rig: AgentRig) -> None:
    token = rig.add("debug-agent", "coder", processes=["debug"])
    status, body, _ = rig.api(
        "POST", "/plans", token, {"process": "deploy", "params": DEPLOY, "reason": "ship"}
    )
    assert status == 403 and body["error"] == "debug-agent may propose only debug"
    refused = [
        d for a, act, d in rig.audit() if (a, act) == ("agent:debug-agent", "denied.propose")
    ]
    assert refused == ["debug-agent may propose only debug"]


def test_on_behalf_of_names_only_the_people_a_lead_listed_who_are_told(rig: AgentRig) -> None:
    """An agent may not name any lead (who would be barred from approving by four-eyes and
    credited with a request never made): only those `--for` lists, and they hear of it."""
    token = rig.add("helper-agent", "architect", acts_for=("U_CODER",))
    proposal = {"process": "deploy", "params": DEPLOY, "reason": "ship v2"}
    status, body, _ = rig.api("POST", "/plans", token, {**proposal, "on_behalf_of": "U_LEAD"})
    assert status == 403
    assert body["error"] == "helper-agent may act only for U_CODER, not for U_LEAD"
    status, _body, _ = rig.api(
        "POST", "/plans", token, proposal, headers={"X-On-Behalf-Of": "U_ARCH"}
    )
    assert status == 403  # the header is the same claim
    refused = [d for a, act, d in rig.audit() if act == "denied.on_behalf_of"]
    assert len(refused) == 2 and "not for U_LEAD" in refused[-1] + refused[0]
    assert not rig.slack.wired.queries.list_runs(10)  # nothing was proposed
    status, made, _ = rig.api("POST", "/plans", token, {**proposal, "on_behalf_of": "U_CODER"})
    assert status == 201, made
    rig.slack.settle()
    told = [m.all_text() for m in rig.slack.standin.channel("U_CODER")]
    assert any(f"run #{made['run']['id']}" in t and "on your behalf" in t for t in told), told
    nobody = rig.add("lonely-agent", "architect", acts_for=())
    status, body, _ = rig.api("POST", "/plans", nobody, {**proposal, "on_behalf_of": "U_CODER"})
    assert status == 403 and "may act only for nobody" in body["error"]


def test_unreadable_input_gets_a_clear_4xx(rig: AgentRig) -> None:
    arch = rig.tokens["architect-agent"]
    assert rig.api("POST", "/plans", arch, {"process": "deploy"})[0] == 400  # no reason
    assert rig.api("POST", "/plans", arch, {"nonsense": 1})[0] == 400
    assert rig.api("POST", "/plans", arch, {"task": {"objective": "x"}})[0] == 400
    status, body, _ = rig.api("POST", "/plans", arch, {"process": "nope", "reason": "x"})
    assert status == 404 and "unknown process" in body["error"]
    assert rig.api("GET", "/runs/999", arch)[0] == 404
    assert rig.api("GET", "/runs?state=bogus", arch)[0] == 400
    assert rig.api("GET", "/runs/1/decision?wait=soon", arch)[0] == 400
    status, body, _ = rig.api(
        "GET", "/services/web/logs?lines=5;rm%20-rf", rig.tokens["coder-agent"]
    )
    assert status == 400 and "lines" in body["error"]
    status, made, _ = rig.api(
        "POST", "/plans", arch, {"process": "deploy", "params": DEPLOY, "reason": "x"}
    )
    run_id = made["run"]["id"]
    status, body, _ = rig.api(
        "POST", f"/runs/{run_id}/steps/prepare/done", rig.tokens["coder-agent"], {"evidence": "x"}
    )
    assert status == 409 and "not waiting" in body["error"]  # not approved: nothing waits
    assert rig.api("POST", f"/runs/{run_id}/cancel", rig.tokens["coder-agent"])[0] == 403
    status, body, _ = rig.api("POST", f"/runs/{run_id}/cancel", arch)
    assert status == 200 and body["run"]["state"] == "cancelled"


def test_logs_and_status_over_the_api_on_the_real_host(rig: AgentRig) -> None:
    (rig.app.app_dir / "logs").mkdir(exist_ok=True)
    (rig.app.app_dir / "logs" / "web-out.log").write_text("boot\nready token=abc123def\n")
    status, body, _ = rig.api("GET", "/services/web/logs?lines=10", rig.tokens["coder-agent"])
    assert status == 200, body
    [host] = body["hosts"]
    assert "ready" in host["output"] and "abc123def" not in host["output"]  # redacted
    status, body, _ = rig.api("GET", "/services/web/logs", rig.tokens["architect-agent"])
    assert status == 403 and "may read logs" in body["error"]
    status, body, _ = rig.api("GET", "/services/web/status", rig.tokens["architect-agent"])
    assert status == 200 and body["hosts"][0]["host"] == "box-1"


def test_the_openapi_document_describes_every_route(rig: AgentRig) -> None:
    status, doc, _ = rig.api("GET", "/openapi.json", None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    served = {
        r.path.removeprefix("/api/v1").replace("{run_id:int}", "{run_id}")
        for r in rig.slack._api.routes
        if getattr(r, "path", "").startswith("/api/v1")
    }
    assert served - {"", "/{rest:path}"} == set(doc["paths"])  # those two answer 404 or 405
    proposal = doc["components"]["schemas"]["Proposal"]
    assert {"task", "process", "params", "reason", "on_behalf_of", "answers"} <= set(
        proposal["properties"]
    )
    assert '"web"' not in json.dumps(doc)  # without a token, nothing of the inventory

    # with a token: the agent's own, a branch per runbook it may propose, typed
    status, mine, _ = rig.api("GET", "/openapi.json", rig.tokens["coder-agent"])
    assert status == 200
    branches = mine["components"]["schemas"]["Proposal"]["anyOf"]
    names = {b["properties"]["process"]["const"] for b in branches}
    assert "deploy" in names and "migration" not in names  # the seed: a Coder may not
    deploy = next(b for b in branches if b["properties"]["process"]["const"] == "deploy")
    assert deploy["properties"]["params"]["properties"]["service"]["enum"] == ["web"]
    assert rig.api("GET", "/openapi.json", "nosuch")[0] == 401


def test_an_exported_plans_requester_and_time_are_not_taken_from_the_agent(
    rig: AgentRig,
) -> None:
    task = {
        "task_id": "replayed",
        "objective": "Ship v2 of web",
        "steps": ["[pull] Pull the changes"],
        "chatops": {"requester": "U_LEAD", "created_at": "not a time", "runbook": "deploy"},
    }
    body = {"task": task, "params": DEPLOY}
    status, made, _ = rig.api("POST", "/plans", rig.tokens["architect-agent"], body)
    assert status == 201, made
    assert made["plan"]["requester"] == "agent:architect-agent"
    assert made["plan"]["created_at"].startswith(str(rig.slack.wired.clock.now().date()))


def test_rate_limits_answer_429_with_retry_after(tmp_path: Path, sshd: Sshd) -> None:
    with agent_rig(tmp_path, sshd, {"requests_per_minute": 2, "burst": 2}) as r:
        token = r.add("busy-agent", "coder")
        assert [r.api("GET", "/runs", token)[0] for _ in range(2)] == [200, 200]
        status, body, headers = r.api("GET", "/runs", token)
        assert status == 429 and "too many" in body["error"]
        assert 1 <= int(headers["retry-after"]) <= 60
        other = r.add("calm-agent", "coder")
        assert r.api("GET", "/runs", other)[0] == 200


HOSTILE: list[tuple[str, str, bytes | None]] = [
    ("POST", "/plans", b"not json"),
    ("POST", "/plans", b"[1, 2]"),
    ("POST", "/plans", b'{"task": "a string"}'),
    ("POST", "/plans", b'{"task": {"task_id": "../../etc", "objective": "x", "steps": ["a"]}}'),
    (
        "POST",
        "/plans",
        b'{"process": "deploy", "params": {"service": "web; rm -rf /"}, "reason": "x"}',
    ),
    ("POST", "/plans", b'{"process": "deploy", "params": {"ref": "$(reboot)"}, "reason": "x"}'),
    ("POST", "/plans", b'{"process": "deploy", "params": [], "reason": "x"}'),
    ("POST", "/plans", b'{"process": "deploy", "reason": "x", "on_behalf_of": "<!channel>"}'),
    ("POST", "/plans", b"\xff\xfe\x00"),
    ("GET", "/runs/99999999999999999999999999", None),
    ("GET", "/runs/1/events?after=99999999999999999999999", None),
    ("GET", "/runs/1/decision?wait=inf", None),
    ("GET", "/runs/1/decision?wait=-5", None),
    ("GET", "/runs?limit=0", None),
    ("GET", "/runs?limit=abc", None),
    ("GET", "/runs?mine=null&mine=null", None),  # repeated and ill-typed (schemathesis 4.32)
    ("GET", "/runs?mine=maybe", None),
    ("GET", "/runs?limit=5&limit=6", None),
    ("POST", "/runs/1/steps/prepare/done", b'{"evidence": ""}'),
    ("POST", "/runs/1/steps/prepare/done", b'{"evidence": "x", "links": ["javascript:1"]}'),
    ("POST", "/runs/1/steps/%2e%2e/done", b'{"evidence": "x"}'),
    ("GET", "/services/web/logs?grep=%00", None),
    ("GET", "/services/web/logs?since=1y", None),
    ("GET", "/services/web/logs?stream=both", None),
    ("GET", "/services/nope/status", None),
    ("GET", "/services/web/logs?host=../../x", None),
]


def test_hostile_input_gets_4xx_never_5xx_and_runs_nothing(rig: AgentRig) -> None:
    token = rig.tokens["coder-agent"]
    for method, path, raw in HOSTILE:
        req = urllib.request.Request(
            f"{rig.slack.url}/api/v1{path}",
            data=raw,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert 400 <= status < 500, (path, raw, status, body)
        assert "error" in json.loads(body), (path, body)
    assert rig.slack.wired.queries.list_runs() == []


def test_a_task_proposed_again_is_idempotent_and_a_revision_supersedes_it(rig: AgentRig) -> None:
    """An Architect retries after a timeout, then revises its task: one run, one plan
    message; the revision replaces its content, never a 500."""
    arch = rig.tokens["architect-agent"]
    task = {
        "target_agent": "production_server",
        "task_id": "ship-v2",
        "objective": "Ship v2 of web",
        "steps": ["[pull] Pull the changes", "[restart] Restart the service"],
        "validation": ["the health check answers"],
    }
    body = {"task": task, "process": "deploy", "params": DEPLOY, "on_behalf_of": "U_CODER"}
    status, first, _ = rig.api("POST", "/plans", arch, body)
    assert status == 201, first
    status, again, _ = rig.api("POST", "/plans", arch, body)
    assert status == 201 and again["run"]["id"] == first["run"]["id"], again
    assert again["plan"]["sha256"] == first["plan"]["sha256"]
    revised = {**body, "task": {**task, "objective": "Ship v2 of web, after the review"}}
    status, third, _ = rig.api("POST", "/plans", arch, revised)
    assert status == 201, third
    assert third["run"]["id"] == first["run"]["id"]
    assert third["plan"]["sha256"] != first["plan"]["sha256"]
    rig.until(lambda: rig.slack.plans(CHANNEL))
    rig.slack.settle()
    [plan_msg] = rig.slack.plans(CHANNEL)
    assert "after the review" in plan_msg.all_text()  # the message shows the revision
    assert len(rig.slack.wired.queries.list_runs()) == 1


def test_an_agent_answers_the_planning_questions_when_it_proposes(rig: AgentRig) -> None:
    """A plan nobody may approve is not posted for an agent: a proposal that leaves a
    required planning question out is refused with 400 naming them; GET /runbooks lists them."""
    arch = rig.tokens["architect-agent"]
    status, body, _ = rig.api("GET", "/runbooks", arch)
    feature = next(rb for rb in body["runbooks"] if rb["name"] == "feature")
    asked = {q["id"]: q["required"] for q in feature["questions"]}
    assert asked == {
        "requirements": True,
        "endpoints": True,
        "data_models": True,
        "schema": False,
        "plan_steps": True,
    }
    proposal = {
        "process": "feature",
        "params": {"service": "web"},
        "reason": "label printing",
        "answers": {"requirements": "print labels"},
    }
    status, body, _ = rig.api("POST", "/plans", arch, proposal)
    assert status == 400 and body["status"] == 400, body
    assert "endpoints: Which API endpoints" in body["error"], body
    assert "requirements" not in body["error"] and "schema" not in body["error"]
    assert rig.slack.wired.queries.list_runs() == []
    answers = {q: f"the {q}" for q, required in asked.items() if required}
    status, made, _ = rig.api("POST", "/plans", arch, {**proposal, "answers": answers})
    assert status == 201, made
    assert made["plan"]["answers"] == answers
    rig.until(lambda: rig.slack.plans(CHANNEL))
    [plan_msg] = rig.slack.plans(CHANNEL)
    assert "chatops.approve" in [b["action_id"] for b in plan_msg.controls()]


def test_the_token_comes_first_and_every_error_is_json(rig: AgentRig) -> None:
    """No token: 401 whatever the body or query (nothing is read before); a path or method
    the API does not have: a JSON 404 or 405, like every other answer; a name the inventory
    does not hold: 404."""
    for method, path, body in (
        ("POST", "/plans", {}),
        ("POST", "/plans", {"nonsense": 1}),
        ("GET", "/runs?state=bogus", None),
        ("GET", "/runs/1/decision?wait=soon", None),
        ("POST", "/runs/1/steps/prepare/done", {"links": ["\nz"]}),
        ("GET", "/runs/null%2Cnull", None),
        ("GET", "/nosuch", None),
    ):
        status, answer, headers = rig.api(method, path, None, body)
        assert status == 401, (method, path, status, answer)
        assert answer["status"] == 401 and "error" in answer
        assert headers["www-authenticate"].startswith("Bearer")
    arch = rig.tokens["architect-agent"]
    for method, path, code in (
        ("GET", "/runs/null%2Cnull", 404),
        ("GET", "/nosuch", 404),
        ("GET", "", 404),
        ("DELETE", "/runs/1", 405),
        ("GET", "/plans", 405),
    ):
        status, answer, headers = rig.api(method, path, arch)
        assert status == code, (method, path, status, answer)
        assert headers["content-type"] == "application/json", headers
        assert answer["status"] == code and answer["error"]
        if code == 405:  # RFC 9110: the methods the path does take
            assert headers["allow"] == {"/runs/1": "GET, HEAD", "/plans": "POST"}[path], headers
    coder = rig.tokens["coder-agent"]
    status, answer, _ = rig.api("GET", "/services/nosuch/status", coder)
    assert status == 404 and "unknown service 'nosuch'" in answer["error"], answer
    status, answer, _ = rig.api("GET", "/services/web/logs?host=nosuch", coder)
    assert status == 404 and "has no host 'nosuch'" in answer["error"], answer
    status, doc, _ = rig.api("GET", "/openapi.json", None)
    runs = doc["paths"]["/runs"]["get"]["parameters"]
    assert next(p for p in runs if p["name"] == "state")["schema"]["enum"][0] == "awaiting_approval"


def test_an_agent_gets_a_link_to_its_own_runs_page_which_dies_with_its_token(
    rig: AgentRig,
) -> None:
    coder, arch = rig.tokens["coder-agent"], rig.tokens["architect-agent"]
    status, made, _ = rig.api(
        "POST",
        "/plans",
        coder,
        {"process": "deploy", "params": DEPLOY, "reason": "ship v2", "on_behalf_of": "U_CODER"},
    )
    assert status == 201, made
    run_id = made["run"]["id"]
    status, got, _ = rig.api("GET", f"/runs/{run_id}/link", coder)
    assert status == 200, got
    assert got["url"].startswith(rig.slack.url + f"/runs/{run_id}?t=") and got["expires_in"] == 3600
    path = got["url"].removeprefix(rig.slack.url)
    code, html = rig.slack.get(path)
    assert code == 200 and f"Run #{run_id}" in html and "agent:coder-agent" in html
    status, body, _ = rig.api("GET", f"/runs/{run_id}/link", arch)  # not its run
    assert status == 403 and "proposed only" in body["error"]
    rig.slack.wired.agents.revoke("coder-agent", by="U_LEAD")
    assert rig.slack.get(path)[0] == 403  # the link opens while the agent's token is active
    audit = [e.action for e in rig.slack.wired.queries.audit_for_run(run_id)]
    assert audit.count("denied.view") >= 2


def test_an_agent_proposes_a_plan_that_starts_later(rig: AgentRig) -> None:
    """`start_at` in the params: the plan carries the time, the run says when it starts, and
    the approval does not start it before then."""
    arch = rig.tokens["architect-agent"]
    proposal = {"process": "deploy", "params": {**DEPLOY, "start_at": "+2h"}, "reason": "v2"}
    status, made, _ = rig.api("POST", "/plans", arch, {**proposal, "on_behalf_of": "U_CODER"})
    assert status == 201, made
    assert made["plan"]["params"].get("start_at") is None  # reserved: not a runbook parameter
    run_id = made["run"]["id"]
    rig.until(lambda: rig.slack.plans(CHANNEL))
    rig.slack.click("chatops.approve", user="U_LEAD")
    rig.until(lambda: rig.api("GET", f"/runs/{run_id}", arch)[1]["run"]["state"] == "queued")
    status, got, _ = rig.api("GET", f"/runs/{run_id}", arch)
    assert got["run"]["starts_at"] is not None and got["run"]["current_step"] is None
    status, bad, _ = rig.api(
        "POST", "/plans", arch, {**proposal, "params": {**DEPLOY, "start_at": "soon"}}
    )
    assert status == 400 and "a time like 22:00" in bad["error"], bad
