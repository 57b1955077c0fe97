"""Tells a run's Slack thread what happens: one status message kept current, a reply per
step, long output as a file, and a summary broadcast to the channel at the end."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.engine import events as ev
from chatops.engine.bus import Handlers
from chatops.engine.domain.run import RunView
from chatops.engine.ports import Clock, Stored
from chatops.engine.runs.queries import Queries
from chatops.slack import blocks as bk
from chatops.slack import incident_blocks as ib
from chatops.slack import plan_message
from chatops.slack import prompt_blocks as pb
from chatops.slack.budget import Priority, SlackBudget
from chatops.slack.desk import MessageDesk, Render
from chatops.slack.done_notices import DoneNotices
from chatops.slack.escalation_notices import EscalationNotices
from chatops.slack.freeze_notices import FreezeNotices
from chatops.slack.output_text import live_text
from chatops.slack.plan_notices import PlanNotices, transient
from chatops.slack.postmortem_notices import PostMortemNotices
from chatops.slack.records import RunMessages, SlackRecords
from chatops.slack.step_notices import StepNotices

log = logging.getLogger(__name__)


#: How much each event's Slack calls matter (`budget.Priority`): what a person must act on,
#: then final states, then progress. Events not named here are final states.
PRIORITY: dict[type[ev.Event], Priority] = {
    ev.PlanRevised: Priority.ACT,
    ev.RunEscalated: Priority.ACT,
    ev.EscalationAnswered: Priority.ACT,
    ev.RunWaiting: Priority.ACT,
    ev.RunHeld: Priority.ACT,
    ev.PostMortemOpened: Priority.ACT,
    ev.PostMortemReminded: Priority.ACT,
    ev.PostMortemEscalated: Priority.ACT,
    ev.StepStarted: Priority.PROGRESS,
    ev.StepOutput: Priority.PROGRESS,
    ev.StepFinished: Priority.STEP,
    ev.StepDone: Priority.STEP,
}
SHOWN_WITHIN = 60.0  # a final state not in Slack by then: the feed tries the event again


class NotYetShown(Exception):
    """A final state is still waiting for its turn at Slack: the feed handles it again."""

    quiet = True
    transient = True


class SlackNotifier(
    StepNotices, PostMortemNotices, PlanNotices, EscalationNotices, DoneNotices, FreezeNotices
):
    def __init__(
        self,
        client: WebClient,
        store: Queries,
        records: SlackRecords,
        clock: Clock,
        desk: MessageDesk | None = None,
        progress_every: float = 1.0,
    ) -> None:
        self.client = client
        self.store = store
        self.records = records
        self.clock = clock
        self.budget: SlackBudget = getattr(client, "budget", None) or SlackBudget()
        self.desk = desk or MessageDesk(
            lambda channel, ts, text, blocks: self.client.chat_update(
                channel=channel, ts=ts, text=text, blocks=blocks
            ),
            self.budget,
            paid=lambda: getattr(self.client, "paid", contextlib.nullcontext)(),
            transient=transient,
            progress_every=progress_every,
        )
        self._live: dict[int, str] = {}
        self._step_ts: dict[tuple[int, str, str], str] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self.handlers = h = Handlers[RunMessages]()
        h.on(ev.RunApproved, self.on_approved)
        h.on(ev.PlanRevised, self.on_revised)
        h.on(ev.RunEscalated, self.on_escalated)
        h.on(ev.EscalationAnswered, self.on_escalation_answered)
        h.on(ev.RunRejected, self.on_rejected)
        h.on(ev.RunExpired, self.on_expired)
        h.on(ev.RunCancelled, self.on_cancelled)
        h.on(ev.RunStarted, self.on_running)
        h.on(ev.StepStarted, self.on_step_started)
        h.on(ev.StepOutput, self.on_step_output)
        h.on(ev.StepFinished, self.on_step_finished)
        h.on(ev.RunWaiting, self.on_waiting)
        h.on(ev.StepDone, self.on_step_done)
        h.on(ev.RunHeld, self.on_held)
        h.on(ev.RollbackStarted, self.on_rolling_back)
        h.on(ev.RunInterrupted, self.on_interrupted)
        h.on(ev.PostMortemOpened, self.on_postmortem_opened)
        h.on(ev.PostMortemReminded, self.on_postmortem_reminder)
        h.on(ev.PostMortemEscalated, self.on_postmortem_escalated)
        h.on(ev.PostMortemWritten, self.on_postmortem_done)
        h.on(ev.RunFinished, self.on_finished)

    # -- plumbing --------------------------------------------------------------------------
    def deliver(self, stored: Stored) -> None:
        """Handle an event from the outbox. Every post it makes is keyed by the event's id:
        handled again (a retry, or a restart before its position was recorded), an event
        never posts twice. Slack being unreachable, 5xx or rate-limited raises, so the feed
        retries later; a refusal by Slack (a channel gone, say) is logged and passed over."""
        self._local.event = stored.id
        self._local.posts = 0
        try:
            with self.budget.at(PRIORITY.get(type(stored.event), Priority.FINAL)):
                self.publish(stored.event)
        finally:
            self._local.event = None

    def show(self, channel: str, ts: str, render: Render, priority: Priority, wait: bool) -> None:
        """Keep a message current through the desk; with `wait`, hold on until Slack has it
        (in the feed: raise so the event is handled again if it takes too long)."""
        ticket = self.desk.put(channel, ts, render, priority)
        if not wait:
            return
        in_feed = getattr(self._local, "event", None) is not None
        if self.desk.wait(ticket, SHOWN_WITHIN if in_feed else 5.0):
            return
        if in_feed:
            raise NotYetShown(f"the update of {ts} is still waiting for Slack")
        log.info("the update of %s is still waiting for Slack; it will be sent", ts)

    @staticmethod
    def transient(e: BaseException) -> bool:
        """Slack down, failing or rate-limiting: the feed waits it out, never skips it."""
        return isinstance(e, Exception) and transient(e)

    def _call(self, what: str, fn: Callable[[], Any], once: bool = False) -> Any:
        event: int | None = getattr(self._local, "event", None)
        key = None
        if once and event is not None:
            self._local.posts += 1
            key = f"event:{event}:{self._local.posts}"
            if not self.records.first_delivery(key, self.clock.now()):
                log.info("slack %s for event %s was done before; not repeated", what, event)
                return None
        try:
            return fn()
        except Exception as e:
            if key is not None:
                self.records.forget(key)
            if event is not None and transient(e):
                raise
            if isinstance(e, SlackApiError):
                log.warning("slack %s failed: %s", what, e.response.get("error"))
            else:
                log.exception("slack %s failed", what)
        return None

    def reply(
        self,
        m: RunMessages,
        text: str,
        blocks: list[bk.Block] | None = None,
        broadcast: bool = False,
    ) -> str | None:
        """Post in the run's thread; returns the reply's ts."""
        resp = self._call(
            "reply",
            lambda: self.client.chat_postMessage(
                channel=m.channel,
                thread_ts=m.plan_ts,
                text=bk.cut(text, 3000),
                blocks=blocks,
                reply_broadcast=broadcast,
                unfurl_links=False,
                unfurl_media=False,
            ),
            once=True,
        )
        return str(resp["ts"]) if resp is not None else None

    def refresh_plan(self, run: RunView, status_line: str | None = None) -> None:
        m = self.records.get(run.id)
        if m is None:
            return
        from chatops.engine.planning.policy import evaluate

        def render() -> tuple[str, list[bk.Block]]:
            plan = self.store.load_plan(run.task_id)
            approvers = [a.user for a in self.store.approvals(run.id) if a.plan_hash == plan.sha256]
            frozen = [f.describe() for f in self.store.freezes(plan.service)]
            blocks = plan_message.plan_blocks(
                plan,
                evaluate(plan),
                run,
                approvers=approvers,
                status_line=status_line,
                freezes=frozen,
            )
            return plan_message.plan_fallback(plan, run), blocks

        self.show(m.channel, m.plan_ts, render, Priority.FINAL, wait=True)

    def refresh_status(
        self, run_id: int, priority: Priority = Priority.PROGRESS, wait: bool = False
    ) -> None:
        """Update the status message with what is current when the update goes (progress at
        most once an interval; a final state first, and waited for)."""
        m = self.records.get(run_id)
        if m is None or m.status_ts is None:
            return

        def render() -> tuple[str, list[bk.Block]]:
            run = self.store.get_run(run_id)
            plan = self.store.load_plan(run.task_id)
            with self._lock:
                live = live_text(self._live.get(run_id, ""))
            blocks = bk.status_blocks(run, plan, self.store.steps(run_id), live)
            return f"Run #{run.id}: {run.state.value}", blocks

        self.show(m.channel, m.status_ts, render, priority, wait)

    def post_status(self, run: RunView) -> None:
        m = self.records.get(run.id)
        if m is None or m.status_ts is not None:
            return
        plan = self.store.load_plan(run.task_id)
        resp = self._call(
            "post status",
            lambda: self.client.chat_postMessage(
                channel=m.channel,
                thread_ts=m.plan_ts,
                text=f"Run #{run.id}: {run.state.value}",
                blocks=bk.status_blocks(run, plan, self.store.steps(run.id)),
            ),
            once=True,
        )
        if resp is not None:
            self.records.set_status(run.id, resp["ts"])

    # -- the Notifier port -----------------------------------------------------------------
    def publish(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunRequested):
            self.on_requested(event)
            return
        if not self.handlers.handles(type(event)):
            return
        m = self.records.get(event.run.id)
        if m is None:
            return  # not a Slack run (CLI)
        self.handlers.handle(event, m)

    def on_approved(self, e: ev.RunApproved, m: RunMessages) -> None:
        run = e.run
        approvers = e.approvers
        who = ", ".join(f"<@{u}>" for u in approvers)
        self.refresh_plan(
            run, f":white_check_mark: Approved by {who} at {bk.when(self.clock.now())}"
        )
        if e.position > 1:
            self.reply(
                m,
                f":hourglass: Queued at position {e.position}: another run "
                "on this service and environment goes first.",
            )
        self.post_status(run)

    def on_revised(self, e: ev.PlanRevised, m: RunMessages) -> None:
        run = e.run
        self.refresh_plan(run)
        old = e.old_hash[:10]
        self.reply(
            m,
            f":pencil2: {bk.mention(run.requester)} changed the plan (was `{old}`). "
            "Approvals given to the earlier version no longer count.",
        )

    def prompt(self, run: RunView, m: RunMessages, text: str, blocks: list[bk.Block]) -> str | None:
        """Post a message with buttons for people, and remember it until the run ends."""
        ts = self.reply(m, text, blocks)
        if ts is not None:
            self.records.add_prompt(run.id, m.channel, ts)
        return ts

    def answered(self, channel: str, ts: str, text: str) -> None:
        """A prompt's buttons were answered: the message says how, and is forgotten."""
        self.records.drop_prompt(ts)
        self.show(channel, ts, lambda: (text, [bk.section(text)]), Priority.ACT, wait=True)

    def retire_prompts(self, run_id: int, text: str, about: str = "run") -> None:
        """Replace the buttons of every prompt of a run (or of its post-mortem: `about`) that
        still shows them."""
        for channel, ts in self.records.prompts(run_id, about):
            self.answered(channel, ts, text)

    def on_rejected(self, e: ev.RunRejected, m: RunMessages) -> None:
        run = e.run
        reason = bk.escape(e.reason)
        line = f":no_entry: Rejected by {bk.mention(e.by)}: {reason}"
        self.refresh_plan(run, line)
        self.reply(m, line)

    def on_expired(self, e: ev.RunExpired, m: RunMessages) -> None:
        run = e.run
        self.refresh_plan(
            run, ":hourglass: Expired: not enough approvals in time. Request it again."
        )
        self.reply(m, ":hourglass: This request expired without enough approvals.")

    def on_cancelled(self, e: ev.RunCancelled, m: RunMessages) -> None:
        run = e.run
        self.retire_prompts(run.id, f"_No longer waiting: run #{run.id} was cancelled._")
        self.refresh_plan(run, f":no_entry_sign: Cancelled by {bk.mention(e.by)}")
        self.reply(m, f":no_entry_sign: Cancelled by {bk.mention(e.by)}.")

    def on_running(self, e: ev.RunStarted, m: RunMessages) -> None:
        run = e.run
        self.post_status(run)
        self.refresh_status(run.id)

    def on_waiting(self, e: ev.RunWaiting, m: RunMessages) -> None:
        run = e.run
        plan = self.store.load_plan(run.task_id)
        step = plan.step(e.step)
        if plan.runbook == "debug" and step.purpose == "diagnose":
            blocks = ib.diagnosis_blocks(run, plan, self.store.steps(run.id))
            self.reply(m, f"Diagnosis of {plan.service}", blocks)
            self.prompt(run, m, ib.FIX_PATHS, ib.fix_path_blocks(run))
        self.prompt(run, m, f"Waiting: {step.title}", pb.waiting_blocks(run, step))
        self.refresh_status(run.id, Priority.ACT)

    def on_rolling_back(self, e: ev.RollbackStarted, m: RunMessages) -> None:
        reason = bk.escape(e.reason)
        self.reply(m, f":leftwards_arrow_with_hook: Rolling back: {reason}")

    def on_interrupted(self, e: ev.RunInterrupted, m: RunMessages) -> None:
        run = e.run
        why = run.error.partition(": ")[2] or "the process running it died"
        text = (
            f":warning: Run #{run.id} was interrupted at step `{e.step}`: {bk.escape(why)}. "
            "Nothing will re-run until a lead resumes it."
        )
        self.prompt(run, m, text, ib.interrupted_blocks(text, run))
        self.refresh_status(run.id, Priority.FINAL, wait=True)

    def _dm(
        self, users: Sequence[str], text: str, blocks: list[bk.Block] | None = None
    ) -> list[tuple[str, str]]:
        """A direct message to each user; the (channel, ts) of those posted."""
        posted = []
        for user in users:
            resp = self._call(
                "dm",
                lambda u=user: self.client.chat_postMessage(  # type: ignore[misc]
                    channel=u, text=text, blocks=blocks
                ),
                once=True,
            )
            if resp is not None:
                posted.append((str(resp["channel"]), str(resp["ts"])))
        return posted

    def on_finished(self, e: ev.RunFinished, m: RunMessages) -> None:
        run = e.run
        with self._lock:
            self._live.pop(run.id, None)
        self.refresh_status(run.id, Priority.FINAL, wait=True)
        plan = self.store.load_plan(run.task_id)
        text = bk.summary_text(run, plan, self.store.steps(run.id))
        self.retire_prompts(run.id, f"_No longer waiting: {text.splitlines()[0]}_")
        self.reply(m, text, [bk.section(text)], broadcast=True)
        self.refresh_plan(run, text.splitlines()[0])
