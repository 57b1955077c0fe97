"""The post-mortem service: opens one when a hotfix ends, reminds until it is written."""

from __future__ import annotations

import re
from datetime import datetime

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.postmortem import QUESTIONS, PostMortem, due_at, markdown
from chatops.engine.domain.roles import Roles
from chatops.engine.domain.run import AuditEvent, RunView
from chatops.engine.planning.config import Config
from chatops.engine.ports import Clock
from chatops.engine.unit_of_work import Transactions, UnitOfWork
from chatops.errors import NotFound, PermissionDenied, StateError

__all__ = ["ENDINGS", "HOST_STEPS", "OWNER", "PostMortems"]

OWNER = re.compile(r";? ?owner \S+")
HOST_STEPS = {"step.started", "step.finished"}  # audited per host; the records tell them
ENDINGS = {"run.succeeded", "run.failed", "run.rolled_back", "run.cancelled", "run.interrupted"}


class PostMortems:
    """Also a Notifier: it listens for hotfix runs ending."""

    def __init__(
        self,
        config: Config,
        tx: Transactions,
        clock: Clock,
        roles: Roles,
    ) -> None:
        self.config = config
        self.tx = tx
        self.clock = clock
        self.roles = roles
        self.handlers = Handlers[None]()
        self.handlers.on(ev.RunFinished, self.on_ended).on(ev.RunInterrupted, self.on_ended)

    def _row(self, run: RunView, actor: str, action: str, detail: str = "") -> AuditEvent:
        return AuditEvent(
            self.clock.now(), actor, action, run.id, run.task_id, run.plan_hash, detail
        )

    def _audit(
        self, t: UnitOfWork, run: RunView, actor: str, action: str, detail: str = ""
    ) -> None:
        t.audit.append(self._row(run, actor, action, detail))

    def publish(self, event: ev.Event) -> None:
        """A consumer too: a hotfix that ended (or died) opens its post-mortem."""
        self.handlers.handle(event, None)

    def on_ended(self, event: ev.RunFinished | ev.RunInterrupted, _: None) -> None:
        if event.run.is_hotfix:
            self.open(event.run)

    def open(self, run: RunView) -> PostMortem | None:
        with self.tx() as t:
            now = self.clock.now()
            owners = tuple(dict.fromkeys([run.requester, *self.roles.members("architect")]))
            pm = PostMortem(
                run.id,
                run.service,
                owners,
                now,
                due_at(now, self.config.policies.delta("postmortem_due")),
            )
            if not t.postmortems.open(pm):
                return None
            self._audit(
                t,
                run,
                "chatops",
                "postmortem.opened",
                f"due {pm.due_at.isoformat()}; owners {', '.join(owners)}",
            )
            t.events.add(ev.PostMortemOpened(run, pm))
            t.commit()
            return pm

    def get(self, run_id: int) -> PostMortem:
        with self.tx() as t:
            return self._get(t, run_id)

    def _get(self, t: UnitOfWork, run_id: int) -> PostMortem:
        pm = t.postmortems.get(run_id)
        if pm is None:
            raise NotFound(f"run {run_id} has no post-mortem")
        return pm

    def latest(self) -> PostMortem:
        """The newest hotfix's post-mortem."""
        with self.tx() as t:
            opened = t.postmortems.all()
            if not opened:
                raise NotFound("no hotfix has a post-mortem yet")
            return max(opened, key=lambda pm: pm.run_id)

    def _may_edit(self, pm: PostMortem, user: str) -> bool:
        return user in pm.owners or bool(self.roles.of(user) & {"lead", "architect"})

    def timeline(self, run_id: int) -> str:
        """The facts: every audited decision and every command, with hosts and exit codes."""
        with self.tx() as t:
            return self._timeline(t, run_id)

    def _timeline(self, t: UnitOfWork, run_id: int) -> str:
        events = t.audit.for_run(run_id)
        steps = t.steps.of_run(run_id)
        rows: list[tuple[datetime, int, str]] = []
        for e in events:
            if e.action.startswith("postmortem.") or e.action in HOST_STEPS:
                continue  # a host's step: its record below says it, with its exit code
            detail = OWNER.sub("", e.detail).strip("; ")  # which process ran it: not a fact
            ended = e.action in ENDINGS
            rows.append(
                (
                    e.at,
                    2 if ended else 0,
                    f"{e.actor}: {e.action}" + (f" ({detail})" if detail else ""),
                )
            )
        for s in steps:
            if not s.host:
                continue
            code = f" {s.code}" if s.code else ""
            when = s.finished_at or s.started_at
            if when is not None:
                rows.append((when, 1, f"{s.phase} {s.step_id} on {s.host}: {s.state.value}{code}"))
        rows.sort(key=lambda r: (r[0], r[1]))  # a run ends after the steps of the same instant
        return "\n".join(f"{at:%Y-%m-%d %H:%M:%S} {text}" for at, _, text in rows)

    def submit(self, run_id: int, user: str, answers: dict[str, str]) -> PostMortem:
        with self.tx() as t:
            pm = self._get(t, run_id)
            run = t.runs.get(run_id)
            if not self._may_edit(pm, user):
                t.keep(self._row(run, user, "denied.postmortem", "not an owner"))
                raise PermissionDenied("only the post-mortem's owners (or a lead) may write it")
            missing = [q for key, q in QUESTIONS if not answers.get(key, "").strip()]
            if missing:
                raise StateError("please answer: " + "; ".join(missing))
            if not t.postmortems.complete(run_id, user, answers, self.clock.now()):
                raise StateError(f"the post-mortem of run {run_id} is already written")
            self._audit(t, run, user, "postmortem.written")
            pm = self._get(t, run_id)
            t.events.add(ev.PostMortemWritten(run, pm))
            t.commit()
            return pm

    def snooze(self, run_id: int, user: str) -> PostMortem:
        with self.tx() as t:
            pm = self._get(t, run_id)
            run = t.runs.get(run_id)
            if not self._may_edit(pm, user):
                t.keep(self._row(run, user, "denied.snooze", "not an owner"))
                raise PermissionDenied("only the post-mortem's owners may snooze its reminders")
            until = self.clock.now() + self.config.policies.delta("snooze")
            if not t.postmortems.snooze(run_id, until):
                raise StateError("the post-mortem is already written")
            self._audit(t, run, user, "postmortem.snoozed", f"until {until.isoformat()}")
            pm = self._get(t, run_id)
            t.events.add(ev.PostMortemSnoozed(run, pm))
            t.commit()
            return pm

    def remind(self, run_id: int) -> bool:
        """Send the next reminder if it is due and no one else has; True if this call sent it."""
        with self.tx() as t:
            pm = t.postmortems.get(run_id)
            now = self.clock.now()
            every = self.config.policies.delta("reminder_every")
            if pm is None or pm.done or now < pm.next_reminder(every):
                return False
            if not t.postmortems.claim_reminder(run_id, pm.reminders_sent, now):
                return False
            run = t.runs.get(run_id)
            count = pm.reminders_sent + 1
            self._audit(t, run, "chatops", "postmortem.reminded", f"reminder {count}")
            t.events.add(ev.PostMortemReminded(run, self._get(t, run_id), count))
            if count >= self.config.policies.escalate_after and t.postmortems.claim_escalation(
                run_id, now
            ):
                leads = self.roles.members("lead")
                self._audit(t, run, "chatops", "postmortem.escalated", f"after {count} reminders")
                t.events.add(ev.PostMortemEscalated(run, tuple(leads), count))
            t.commit()
            return True

    def tick(self) -> list[int]:
        """Send every reminder that is due now. Safe to call from anywhere, any number of times."""
        with self.tx() as t:
            pending = [pm.run_id for pm in t.postmortems.pending()]
        return [run_id for run_id in pending if self.remind(run_id)]

    def next_times(self) -> dict[int, object]:
        with self.tx() as t:
            every = self.config.policies.delta("reminder_every")
            return {pm.run_id: pm.next_reminder(every) for pm in t.postmortems.pending()}

    def export(self, run_id: int) -> str:
        with self.tx() as t:
            pm = self._get(t, run_id)
            run = t.runs.get(run_id)
            plan = t.plans.get(run.task_id)
            title = f"hotfix of {run.service}: {plan.objective}"
            return markdown(pm, title, self._timeline(t, run_id))
