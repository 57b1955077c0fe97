"""The JSON an agent reads, the same over HTTP and MCP: plain dicts from the engine's records.
Text that came from servers or people is redacted by the caller before it leaves."""

from __future__ import annotations

import json
from typing import Any

from chatops.engine import event_codec
from chatops.engine.agents.gate import RunbookInfo, RunReport
from chatops.engine.agents.waiting import Decision
from chatops.engine.approvals.parts import Requested
from chatops.engine.domain.run import RunView, StepRecord
from chatops.engine.incidents.oncall import LogResult, ServiceStatus
from chatops.engine.planning.plan import Plan
from chatops.engine.ports import Stored

Json = dict[str, Any]


def run_json(run: RunView) -> Json:
    return {
        "id": run.id,
        "task_id": run.task_id,
        "plan_sha256": run.plan_hash,
        "process": run.runbook,
        "kind": run.kind,
        "service": run.service,
        "environment": run.environment,
        "state": run.state.value,
        "requester": run.requester,
        "current_step": run.current_step,
        "error": run.error,
        "starts_at": run.not_before.isoformat() if run.not_before else None,  # scheduled
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }


def decision_json(d: Decision) -> Json:
    return {
        "run_id": d.run.id,
        "decision": d.decision,
        "final": d.final,
        "state": d.run.state.value,
        "reason": d.reason,
        "approvers": list(d.approvers),
        "missing": list(d.missing),
    }


def plan_json(plan: Plan) -> Json:
    return {
        "task_id": plan.task_id,
        "sha256": plan.sha256,
        "process": plan.runbook,
        "title": plan.title,
        "objective": plan.objective,
        "service": plan.service,
        "environment": plan.environment,
        "params": plan.params,
        "requester": plan.requester,
        "created_at": plan.created_at,
        "on_behalf_of": plan.on_behalf_of,
        "validation": list(plan.validation),
        "answers": dict(plan.answers),
        "approval": plan.approval.model_dump(),
        "steps": [
            {
                "id": s.id,
                "title": s.title,
                "kind": s.kind,
                "role": s.role,
                "source": s.source,
                "commands": [c.model_dump() for c in s.commands],
            }
            for s in plan.steps
        ],
        "rollback": [{"id": s.id, "title": s.title} for s in plan.rollback],
    }


def step_json(rec: StepRecord) -> Json:
    return {
        "step": rec.step_id,
        "phase": rec.phase,
        "host": rec.host or None,
        "state": rec.state.value,
        "exit_code": rec.exit_code,
        "started_at": rec.started_at.isoformat() if rec.started_at else None,
        "finished_at": rec.finished_at.isoformat() if rec.finished_at else None,
        "output_tail": rec.tail,
        "error": rec.error,
        "by": rec.actor,
    }


def report_json(r: RunReport) -> Json:
    return {
        "run": run_json(r.run),
        "decision": decision_json(r.decision),
        "plan": plan_json(r.plan),
        "steps": [step_json(s) for s in r.steps],
        "approvals": [
            {"user": a.user, "roles": list(a.roles), "step": a.step_id, "at": a.at.isoformat()}
            for a in r.approvals
            if a.plan_hash == r.plan.sha256
        ],
    }


def requested_json(req: Requested) -> Json:
    return {
        "run": run_json(req.run),
        "plan": plan_json(req.plan),
        "refusals": list(req.verdict.reasons),
        "next": (
            "wait for the decision (people approve in Slack)"
            if req.verdict.ok
            else "the plan breaks the process and cannot be approved: see refusals"
        ),
    }


def runbook_json(info: RunbookInfo) -> Json:
    rb = info.runbook
    return {
        "name": rb.name,
        "kind": rb.kind,
        "title": rb.title,
        "description": rb.description.strip(),
        "approval": rb.approval.model_dump(),
        "may_propose": info.refusal is None,
        "why_not": info.refusal,
        "parameters": {
            name: {
                "type": p.type,
                "required": p.required,
                "help": p.help,
                "choices": list(p.choices),
                "default": p.default,
            }
            for name, p in rb.parameters.items()
        },
        "questions": [{"id": q.id, "ask": q.ask, "required": q.required} for q in rb.questions],
        "steps": [{"id": s.id, "title": s.title, "kind": s.kind} for s in rb.steps],
    }


def logs_json(result: LogResult) -> Json:
    return {
        "service": result.query.service,
        "notes": result.notes,
        "hosts": [
            {
                "host": r.host,
                "ok": r.ok,
                "exit_code": r.exit_code,
                "error": r.error,
                "output": result.outputs.get(r.host, r.tail),
            }
            for r in result.results
        ],
    }


def status_json(s: ServiceStatus) -> Json:
    return {
        "service": s.service,
        "environment": s.environment,
        "health": s.health,
        "hosts": [
            {"host": h.host, "state": h.state, "uptime": h.uptime, "restarts": h.restarts}
            for h in s.hosts
        ],
        "contradiction": s.contradiction,
        "last_success": run_json(s.last_success) if s.last_success else None,
        "active": [run_json(r) for r in s.active],
        "open_postmortems": s.open_postmortems,
    }


def events_json(found: list[Stored], after: int) -> Json:
    return {
        "events": [{"position": s.id, **json.loads(event_codec.encode(s.event))} for s in found],
        "next_after": found[-1].id if found else after,
    }
