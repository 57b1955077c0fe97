"""The seed's delegation rules, as they bind agents.

Process 1-7 of the working-process document: the Architect plans and may ask for any
process; the Coder carries out what needs no Architect (deploying ready code, restarts,
debugging, logs, simple fixes) and "must NOT" change the database schema, add a feature or
change the API without the Architect's plan. No agent approves: people do.
"""

from __future__ import annotations

from chatops.engine.domain.identity import Agent
from chatops.engine.planning.runbook import Runbook

__all__ = [
    "AGENT_PREFIX",
    "CODER_MUST_NOT",
    "approval_refusal",
    "done_refusal",
    "is_agent",
    "principal",
    "proposal_refusal",
]

AGENT_PREFIX = "agent:"

#: Why the Coder may not ask for these alone, in the seed's words.
CODER_MUST_NOT = {
    "migration": "the Coder must NOT change the database schema without the Architect's plan",
    "feature": "the Coder must NOT add new features without the Architect's plan",
    "endpoint": "the Coder must NOT change the API without the Architect's plan",
    "refactor": "a refactor follows the Architect's plan: the Coder does not start one alone",
}


def principal(agent: Agent) -> str:
    """How an agent appears as a requester or actor: never a Slack user id."""
    return f"{AGENT_PREFIX}{agent.name}"


def is_agent(actor: str) -> bool:
    return actor.startswith(AGENT_PREFIX)


def proposal_refusal(agent: Agent, runbook: Runbook, service: str | None) -> str | None:
    """Why this agent may not propose this process for this service; None if it may."""
    if agent.processes and runbook.name not in agent.processes:
        return f"{agent.name} may propose only {', '.join(agent.processes)}"
    if agent.services and service is not None and service not in agent.services:
        return f"{agent.name} may act only on {', '.join(agent.services)}"
    if agent.role == "architect":
        return None
    if runbook.approval.architect or runbook.kind in CODER_MUST_NOT:
        return CODER_MUST_NOT.get(
            runbook.kind, f"{runbook.name} needs the Architect's plan: the Coder may not ask alone"
        )
    if agent.role not in runbook.requesters:
        return f"{runbook.name} is requested by {', '.join(runbook.requesters)}, not a coder"
    return None


def approval_refusal(actor: str) -> str | None:
    """Agents never approve (a plan, a gate) and never count toward a quorum."""
    if is_agent(actor):
        return "an agent never approves: the runbook's people do"
    return None


def done_refusal(agent: Agent, kind: str, role: str | None, service: str | None) -> str | None:
    """Why this agent may not report this step done; None if it may. Only the Coder agent,
    only a people's step of role coder, within its scope."""
    if agent.role != "coder":
        return f"only the Coder agent reports steps done; {agent.name} is the {agent.role}"
    if kind == "gate":
        return "a gate is passed by people, never by an agent"
    if kind != "manual":
        return "only a people's step can be marked done; machine steps report themselves"
    if role != "coder":
        return f"this step is for the {role or 'requester'} role, not the Coder agent"
    if agent.services and service is not None and service not in agent.services:
        return f"{agent.name} may act only on {', '.join(agent.services)}"
    return None
