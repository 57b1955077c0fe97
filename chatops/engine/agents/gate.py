"""The gate every agent goes through: the HTTP API and the MCP server call nothing else.

Each call authenticates the agent's token (unknown, revoked, expired: refused), spends one
request of its rate limit, and is audited with the agent's name and the person it acts
for. What it may do is the engine's rules: agents propose, wait, read, report their steps
done with evidence and cancel their own runs; people approve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatops.engine.agents.long_polls import LongPolls
from chatops.engine.agents.ratelimit import RateLimiter
from chatops.engine.agents.service import AgentService
from chatops.engine.agents.waiting import POLL, Decision, Waiters, decision_of
from chatops.engine.approvals.changes import ChangeService
from chatops.engine.approvals.parts import Requested
from chatops.engine.domain.agent_rules import principal, proposal_refusal
from chatops.engine.domain.evidence import Evidence
from chatops.engine.domain.identity import PERSON, Agent
from chatops.engine.domain.run import ApprovalRecord, AuditEvent, RunState, RunView, StepRecord
from chatops.engine.incidents.logquery import LogQuery
from chatops.engine.incidents.oncall import LogResult, OnCall, ServiceStatus
from chatops.engine.planning.actions import unsupported
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.ports import Clock, EventLog, Stored
from chatops.engine.runs.commands import Cancel, Propose, ProposeTask, ReportDone
from chatops.engine.runs.operations import Operations
from chatops.engine.runs.pages import RunPages
from chatops.engine.runs.queries import Queries
from chatops.errors import NotAuthenticated, NotFound, ParameterError, PermissionDenied

__all__ = [
    "MAX_EVENTS",
    "MAX_ID",
    "REFUSED",
    "AgentGate",
    "Caller",
    "RunReport",
    "RunbookInfo",
]

MAX_EVENTS = 200
MAX_ID = 2**62
REFUSED = "-refused-"  # the rate-limit bucket of calls without a valid token


@dataclass(frozen=True)
class Caller:
    agent: Agent
    token: str
    on_behalf_of: str | None = None

    @property
    def who(self) -> str:
        return principal(self.agent)


@dataclass(frozen=True)
class RunReport:
    run: RunView
    plan: Plan
    steps: list[StepRecord]
    approvals: list[ApprovalRecord]
    decision: Decision


@dataclass(frozen=True)
class RunbookInfo:
    runbook: Runbook
    refusal: str | None  # why this agent may not propose it; None if it may


class AgentGate:
    def __init__(
        self,
        agents: AgentService,
        changes: ChangeService,
        ops: Operations,
        queries: Queries,
        oncall: OnCall,
        events: EventLog,
        config: Config,
        clock: Clock,
        waiters: Waiters | None = None,
        limiter: RateLimiter | None = None,
        pages: RunPages | None = None,
    ) -> None:
        self.agents = agents
        self.changes = changes
        self.ops = ops
        self.queries = queries
        self.oncall = oncall
        self.events = events
        self.config = config
        self.clock = clock
        self.waiters = waiters or Waiters()
        self.pages = pages
        policy = config.agents
        self.limiter = limiter or RateLimiter(policy.requests_per_minute, policy.burst, clock)
        self.waiters.per_agent = policy.max_waits
        self.polls = LongPolls(self)  # the long polls that hold no thread

    # -- every call ------------------------------------------------------------------------
    def authenticate(self, token: str) -> Agent:
        """The active agent this token names. Refusals are audited, up to the rate limit of
        refusals (shared by every caller without a valid token): past it they are answered
        429 without an audit row, so a flood of bad tokens cannot flood the trail."""
        try:
            return self.agents.authenticate(token, audit=False)
        except NotAuthenticated:
            self.limiter.take(REFUSED)
            return self.agents.authenticate(token)  # raises again, audited this time

    def enter(
        self, token: str, op: str, on_behalf_of: str | None = None, detail: str = ""
    ) -> Caller:
        """Authenticate, rate-limit and audit one call."""
        agent = self.authenticate(token)
        if on_behalf_of is not None and not PERSON.fullmatch(on_behalf_of):
            raise ParameterError("on_behalf_of must be a Slack user id (U0123ABCD)")
        caller = Caller(agent, token, on_behalf_of)
        if on_behalf_of is not None and on_behalf_of not in agent.acts_for:
            # never on the agent's word: a person named here is barred from approving
            # (four-eyes) and credited with the request, so only those a lead listed
            mayfor = ", ".join(agent.acts_for) or "nobody (`chatops agent add ... --for`)"
            why = f"{agent.name} may act only for {mayfor}, not for {on_behalf_of}"
            self.limiter.take(agent.name)
            self._audit(Caller(agent, token, None), "denied.on_behalf_of", why)
            raise PermissionDenied(why)
        self.limiter.take(agent.name)
        who = f"; on behalf of {on_behalf_of}" if on_behalf_of else ""
        self._audit(caller, f"agent.{op}", f"{detail}{who}".strip("; ")[:500])
        return caller

    def _audit(self, caller: Caller, action: str, detail: str, run: RunView | None = None) -> None:
        with self.changes.tx() as t:
            t.audit.append(
                AuditEvent(
                    self.clock.now(),
                    caller.who,
                    action,
                    run_id=run.id if run else None,
                    task_id=run.task_id if run else None,
                    plan_hash=run.plan_hash if run else None,
                    detail=detail,
                )
            )
            t.commit()

    def _origin(self) -> str:
        channel = self.config.agents.channel
        return f"slack:{channel}" if channel else ""

    def _readable(self, caller: Caller, run_id: int) -> RunView:
        if not 0 < run_id < MAX_ID:
            raise NotFound(f"no run {run_id}")
        run = self.queries.get_run(run_id)
        self._in_scope(caller, run.service, "read", run)
        return run

    def _in_scope(
        self, caller: Caller, service: str | None, action: str, run: RunView | None = None
    ) -> None:
        scope = caller.agent.services
        if scope and service not in scope:
            what = f"run {run.id}" if run else str(service)
            self._audit(caller, f"denied.{action}", f"{what} is outside its scope", run)
            raise PermissionDenied(f"{caller.agent.name} may act only on {', '.join(scope)}")

    # -- proposing -------------------------------------------------------------------------
    def propose(
        self,
        caller: Caller,
        process: str,
        params: dict[str, str],
        reason: str,
        answers: dict[str, str] | None = None,
    ) -> Requested:
        if not reason.strip():
            raise ParameterError("say why: a reason is required")
        return self.ops.handle(
            Propose(
                caller.agent,
                process,
                params,
                reason.strip()[:2000],
                on_behalf_of=caller.on_behalf_of,
                origin=self._origin(),
                answers=answers,
            )
        )

    def propose_task(
        self,
        caller: Caller,
        task: object,
        process: str | None = None,
        params: dict[str, str] | None = None,
        answers: dict[str, str] | None = None,
    ) -> Requested:
        return self.ops.handle(
            ProposeTask(
                caller.agent,
                task,
                process,
                params,
                on_behalf_of=caller.on_behalf_of,
                origin=self._origin(),
                answers=answers,
            )
        )

    # -- reading ---------------------------------------------------------------------------
    def decision(self, caller: Caller, run_id: int) -> Decision:
        self._readable(caller, run_id)
        return self._decision(run_id)

    def _decision(self, run_id: int) -> Decision:
        """The decision as the store has it now (the caller may read the run)."""
        run = self.changes.expiry.check(run_id)
        plan = self.queries.load_plan(run.task_id)
        status = self.changes.approval_status(run, plan)
        return decision_of(run, status.approvers, status.missing)

    def report(self, caller: Caller, run_id: int) -> RunReport:
        self._readable(caller, run_id)
        decided = self._decision(run_id)
        run = decided.run
        plan = self.queries.load_plan(run.task_id)
        return RunReport(
            run, plan, self.queries.steps(run.id), self.queries.approvals(run.id), decided
        )

    def runs(
        self, caller: Caller, limit: int = 20, states: tuple[RunState, ...] = (), mine: bool = False
    ) -> list[RunView]:
        if not 1 <= limit <= 200:
            raise ParameterError("limit must be from 1 to 200")
        scope = caller.agent.services
        found = self.queries.list_runs(limit=1000 if scope or mine else limit, states=states)
        found = [r for r in found if not scope or r.service in scope]
        if mine:
            found = [r for r in found if r.requester == caller.who]
        return found[:limit]

    def runbooks(self, caller: Caller) -> list[RunbookInfo]:
        return [
            RunbookInfo(rb, proposal_refusal(caller.agent, rb, None))
            for _, rb in sorted(self.changes.runbooks.items())
        ]

    def proposable(self, caller: Caller) -> list[tuple[Runbook, list[str]]]:
        """Each runbook this agent may propose, with the services in its scope that can run
        it (those with every action and check its steps need): what its OpenAPI document
        offers, so that what the document allows the server accepts."""
        out: list[tuple[Runbook, list[str]]] = []
        for info in self.runbooks(caller):
            rb = info.runbook
            if info.refusal is not None:
                continue
            steps = [*rb.steps, *rb.rollback]
            fit = [
                s
                for s in self.services(caller)
                if proposal_refusal(caller.agent, rb, s) is None
                and not unsupported(self.config.services[s], steps)
            ]
            out.append((rb, fit))
        return out

    def services(self, caller: Caller) -> list[str]:
        scope = caller.agent.services
        return [s for s in sorted(self.config.services) if not scope or s in scope]

    def logs(self, caller: Caller, query: LogQuery, environment: str | None = None) -> LogResult:
        self._in_scope(caller, query.service, "logs")
        if not 1 <= query.lines <= self.config.policies.logs_max_lines:
            raise ParameterError(f"lines must be from 1 to {self.config.policies.logs_max_lines}")
        return self.oncall.logs(query, caller.who, environment, held=frozenset({caller.agent.role}))

    def status(self, caller: Caller, service: str, environment: str | None = None) -> ServiceStatus:
        self._in_scope(caller, service, "status")
        return self.oncall.status(service, caller.who, environment)

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, caller: Caller, run_id: int, timeout: float) -> Decision:
        """Until the plan is decided or `timeout` (capped by the config) passes. A revoked or
        expired token ends the wait with a refusal; the answer is never approved unless the
        run is."""
        self._readable(caller, run_id)  # once: its service does not change while we wait
        deadline = time.monotonic() + self._cap(timeout)
        while True:
            seen = self.waiters.generation
            decided = self._decision(run_id)
            left = deadline - time.monotonic()
            if decided.final or left <= 0:
                return decided
            self.waiters.wait(seen, min(POLL, left))
            self.authenticate(caller.token)

    def follow(self, caller: Caller, run_id: int, after: int, timeout: float) -> list[Stored]:
        """The run's events after position `after`, waiting up to `timeout` for the first."""
        self._readable(caller, run_id)
        if not 0 <= after < MAX_ID:
            raise ParameterError(f"after must be an event position (0 to {MAX_ID - 1})")
        deadline = time.monotonic() + self._cap(timeout)
        while True:
            seen = self.waiters.generation
            found = self.events.of_run(run_id, after, MAX_EVENTS)
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            self.waiters.wait(seen, min(POLL, left))
            self.authenticate(caller.token)

    def agents_now(self) -> list[Agent]:
        """Every agent as the store has it now (revoked ones too)."""
        with self.changes.tx() as t:
            return t.agents.all()

    def _cap(self, timeout: float) -> float:
        if timeout < 0:
            raise ParameterError("timeout must not be negative")
        return min(float(timeout), float(self.config.agents.max_wait))

    # -- acting on runs --------------------------------------------------------------------
    def mark_done(self, caller: Caller, run_id: int, step_id: str, evidence: Evidence) -> RunView:
        self._readable(caller, run_id)
        return self.ops.handle(ReportDone(caller.agent, run_id, step_id, evidence))

    def idle_note(self, run: RunView) -> str | None:
        """That no worker is alive to go on with `run` (None: one is): a run never waits
        silently for nobody."""
        return self.ops.idle_note(run, "goes on")

    def cancel(self, caller: Caller, run_id: int) -> RunView:
        run = self._readable(caller, run_id)
        if run.requester != caller.who:
            self._audit(caller, "denied.cancel", "an agent cancels only its own runs", run)
            raise PermissionDenied("an agent cancels only the runs it proposed")
        return self.ops.handle(Cancel(run_id, caller.who))

    def link(self, caller: Caller, run_id: int) -> str:
        """A link to the page of a run this agent proposed, made for the agent (its role,
        checked again at each request: revoked, the link opens nothing)."""
        run = self._readable(caller, run_id)
        if run.requester != caller.who:
            self._audit(caller, "denied.view", "an agent gets links to its own runs only", run)
            raise PermissionDenied("an agent gets links to the runs it proposed only")
        if self.pages is None:
            raise PermissionDenied("run pages are not served here")
        return self.pages.link(run_id, caller.who)
