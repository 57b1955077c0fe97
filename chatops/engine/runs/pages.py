"""A run's page, behind personal links: who may get a link, who may open one, and what the
page shows (the plan as approved, who asked and who approved, every step per host with its
output, the audit rows). The page is never public: a link names one user and one run and
expires, and at each request the user it names must still hold one of the roles that may
read logs (`policies.logs_roles`). Every refusal is audited."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from chatops.engine.domain.links import LinkRefused, Pass, read_token, token_for
from chatops.engine.domain.postmortem import PostMortem
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import (
    ApprovalRecord,
    AuditEvent,
    RunView,
    StepRecord,
    StepState,
)
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import evaluate
from chatops.engine.ports import Clock
from chatops.engine.runs.queries import Queries
from chatops.engine.runs.refusals import Refusals
from chatops.engine.unit_of_work import Transactions
from chatops.errors import NotFound, PermissionDenied

__all__ = ["ENDS", "LIVE_CHUNKS", "Moment", "RunPage", "RunPages", "timeline"]

LIVE_CHUNKS = 16  # a running step's newest stored chunks, shown on its page as they come


@dataclass(frozen=True)
class Moment:
    """One line of a run's timeline: when, who, what."""

    at: datetime
    who: str
    what: str


@dataclass(frozen=True)
class RunPage:
    """What a run's page shows, read for the user the link names."""

    run: RunView
    plan: Plan
    steps: list[StepRecord]
    approvals: list[ApprovalRecord]
    audit: list[AuditEvent]
    viewer: str
    postmortem: PostMortem | None = None  # a hotfix's
    chain: str = ""  # the audit chain's verdict as a person reads it ("" if not asked)
    live: dict[int, str] = field(default_factory=dict)  # a running step's newest output
    version: str = ""  # changes when anything the page shows does (the live page's cue)
    verdict: tuple[str, ...] = ()  # what the process's rules say against the plan (none: ok)

    @property
    def timeline(self) -> list[Moment]:
        return timeline(self.run, self.steps, self.audit)


ENDS = ("run.succeeded", "run.failed", "run.rolled_back", "run.interrupted", "run.cancelled")


def timeline(run: RunView, steps: list[StepRecord], audit: list[AuditEvent]) -> list[Moment]:
    """Every event of a run in order: its audit rows (the request, each approval, each
    step's and the run's end, the post-mortem) and each step's start and end on each host.
    Times are stored to the second: within one, steps go in their order, and the run's end
    after them."""
    keyed: list[tuple[tuple[object, ...], Moment]] = []
    for i, e in enumerate(audit):
        if e.action in ("step.started", "step.finished"):
            continue  # a host's step: its record says it below (the audit table lists it)
        what = e.action + (f": {e.detail}" if e.detail else "")
        rank = 2 if e.action in ENDS else 0
        keyed.append(((e.at, rank, i, 0), Moment(e.at, e.actor, what)))
    for s in steps:
        if not s.host:
            continue  # a step's summary: its hosts' own lines say it
        where = f"{s.step_id}{' (rollback)' if s.phase == 'rollback' else ''} on {s.host}"
        if s.started_at is not None:
            moment = Moment(s.started_at, s.actor or "chatops", f"started {where}")
            keyed.append(((s.started_at, 1, s.id, 0), moment))
        if s.finished_at is not None:
            code = f", {s.code}" if s.code else ""
            what = f"{s.state.value} {where}{code}"
            moment = Moment(s.finished_at, s.actor or "chatops", what)
            keyed.append(((s.finished_at, 1, s.id, 1), moment))
    return [m for _k, m in sorted(keyed, key=lambda k: k[0])]


class RunPages:
    def __init__(
        self,
        tx: Transactions,
        queries: Queries,
        config: Config,
        roles: Roles,
        clock: Clock,
        key: bytes,
        ttl: float = 3600.0,
        chain: Callable[[], str] | None = None,
        held_by: Callable[[str], frozenset[str]] | None = None,
    ) -> None:
        self.tx = tx
        self.queries = queries
        self.config = config
        self.roles = roles
        self.clock = clock
        self.key = key
        self.ttl = ttl
        self.chain = chain  # verifies the whole audit chain: its verdict, for the page
        self.held_by = held_by  # the roles of who is not a person (an active agent's own)
        self.refusals = Refusals(clock)

    @property
    def enabled(self) -> bool:
        """Links need a key (CHATOPS_LINK_SECRET, or the Slack signing secret's)."""
        return bool(self.key)

    def link(self, run_id: int, user: str) -> str:
        """The path of `user`'s own link to run `run_id`: `/runs/<id>?t=<token>`."""
        run = self.queries.get_run(run_id)  # NotFound: no such run
        self._check(run, user)
        return self._path(run, user)

    def _path(self, run: RunView, user: str) -> str:
        if not self.key:
            raise PermissionDenied(
                "run pages are off: set CHATOPS_LINK_SECRET (or SLACK_SIGNING_SECRET)"
            )
        expires = int(self.clock.now().timestamp() + self.ttl)
        return f"/runs/{run.id}?t={token_for(self.key, run.id, user, expires)}"

    def open(self, run_id: int, token: str, client: str = "unknown") -> RunPage:
        """The page of run `run_id` for the user `token` names. NotFound if there is no such
        run; LinkRefused or PermissionDenied (audited) if the link does not open it."""
        run = self.queries.get_run(run_id)
        viewer = self._pass(run, token, client).user
        plan = self.queries.load_plan(run.task_id)
        steps = self.queries.steps(run.id)
        live: dict[int, str] = {}
        with self.tx() as t:
            postmortem = t.postmortems.get(run.id)
            for s in steps:
                if s.host and s.state == StepState.RUNNING:
                    live[s.id] = "".join(c for _k, c in t.steps.output_tail(s.id, LIVE_CHUNKS))
        return RunPage(
            run,
            plan,
            steps,
            self.queries.approvals(run.id),
            self.queries.audit_for_run(run.id),
            viewer,
            postmortem,
            self.chain() if self.chain is not None else "",
            live,
            self._version(run, steps),
            evaluate(plan).reasons,
        )

    def viewer(self, run_id: int, token: str, client: str = "unknown") -> str:
        """Who the link names, if it opens the run's page (as `open` checks it)."""
        return self._pass(self.queries.get_run(run_id), token, client).user

    def version(
        self, run_id: int, token: str, check: bool = True, client: str = "unknown"
    ) -> tuple[str, bool]:
        """What changes when anything the run's page shows does, and whether the run still
        goes on; the link is checked first (unless `check` is False: a live page checks it
        again every so often, not at each look)."""
        run = self.queries.get_run(run_id)
        if check:
            self._pass(run, token, client)
        return self._version(run, self.queries.steps(run.id)), not run.state.is_terminal

    def _version(self, run: RunView, steps: list[StepRecord]) -> str:
        parts = [run.state.value, str(run.updated_at), str(len(steps))]
        with self.tx() as t:
            for s in steps:
                parts.append(f"{s.id}:{s.state.value}:{s.finished_at}")
                if s.host and s.state == StepState.RUNNING:
                    newest = t.steps.output_tail(s.id, 1)
                    parts.append(str(newest[0][0]) if newest else "0")
            postmortem = t.postmortems.get(run.id)
        if postmortem is not None:
            parts.append(f"pm:{postmortem.done_at}:{postmortem.reminders_sent}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def output(
        self, run_id: int, token: str, step_run_id: int, client: str = "unknown"
    ) -> Iterator[str]:
        """One step's whole output on one host, read a page of chunks at a time."""
        return self.output_of(run_id, token, step_run_id, client)[1]

    def output_of(
        self, run_id: int, token: str, step_run_id: int, client: str = "unknown"
    ) -> tuple[str, Iterator[str]]:
        """What the output is of ("<step> on <host>") and the output, as `output` reads it."""
        run = self.queries.get_run(run_id)
        self._pass(run, token, client)
        found = [s for s in self.queries.steps(run.id) if s.id == step_run_id and s.host]
        if not found:
            raise NotFound(f"run #{run.id} has no step output {step_run_id}")
        step = found[0]
        what = f"{step.step_id}{' (rollback)' if step.phase == 'rollback' else ''} on {step.host}"
        return what, self.queries.output_chunks(step_run_id)

    def _pass(self, run: RunView, token: str, client: str) -> Pass:
        try:
            granted = read_token(self.key, token, run.id, self.clock.now().timestamp())
        except LinkRefused as e:
            # on record while few from this address; past that 429 and a row a minute
            why = f"{e}; from {client}"
            self.refusals.refused(
                client,
                lambda: self._deny("link", run, why),
                lambda said: self._deny("link", None, said),
            )
            raise
        self._check(run, granted.user)
        return granted

    def _check(self, run: RunView, user: str) -> None:
        allowed = set(self.config.policies.logs_roles)
        held = self.roles.of(user) | (self.held_by(user) if self.held_by else frozenset())
        if not held & allowed:
            why = f"only {', '.join(sorted(allowed))} may see a run's page"
            self._deny(user, run, why)
            raise PermissionDenied(why)

    def _deny(self, actor: str, run: RunView | None, why: str) -> None:
        with self.tx() as t:
            t.audit.append(
                AuditEvent(
                    self.clock.now(),
                    actor,
                    "denied.view",
                    run.id if run else None,
                    run.task_id if run else None,
                    run.plan_hash if run else None,
                    why,
                )
            )
            t.commit()

    def flush_refusals(self) -> None:
        """The refused links counted past the limit and not yet summarised, on record."""
        self.refusals.flush(lambda said: self._deny("link", None, said))
