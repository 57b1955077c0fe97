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

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.run import RunView
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.engine.ports import Clock, Stored
from chatops.engine.runs.queries import Queries
from chatops.slack.budget import POST, Priority, SlackBudget
from chatops.slack.client import PATIENCE, OverBudget
from chatops.slack.records import RunMessages, SlackRecords
from chatops.slack.thread.approval_notices import ApprovalNotices
from chatops.slack.thread.decision_notices import DecisionNotices
from chatops.slack.thread.desk import MessageDesk, Render
from chatops.slack.thread.done_notices import DoneNotices
from chatops.slack.thread.drift_notices import DriftNotices
from chatops.slack.thread.escalation_notices import EscalationNotices
from chatops.slack.thread.freeze_notices import FreezeNotices
from chatops.slack.thread.notices import Part
from chatops.slack.thread.output_text import LiveOutput
from chatops.slack.thread.plan_notices import PlanNotices, transient
from chatops.slack.thread.postmortem_notices import PostMortemNotices
from chatops.slack.thread.run_notices import RunNotices
from chatops.slack.thread.step_notices import StepNotices
from chatops.slack.views import blocks as bk
from chatops.slack.views import plan_message

log = logging.getLogger(__name__)


#: How much each event's Slack calls matter (`budget.Priority`): what a person must act on,
#: then final states, then progress. Events not named here are final states.
PRIORITY: dict[type[ev.Event], Priority] = {
    ev.PlanRevised: Priority.ACT,
    ev.ApprovalAdded: Priority.ACT,
    ev.RunEscalated: Priority.ACT,
    ev.EscalationAnswered: Priority.ACT,
    ev.RunWaiting: Priority.ACT,
    ev.RunHeld: Priority.ACT,
    ev.DriftFound: Priority.ACT,
    ev.PostMortemOpened: Priority.ACT,
    ev.PostMortemReminded: Priority.ACT,
    ev.PostMortemEscalated: Priority.ACT,
    ev.StepStarted: Priority.PROGRESS,
    ev.StepOutput: Priority.PROGRESS,
    ev.StepFinished: Priority.STEP,
    ev.StepDone: Priority.STEP,
}


def priority_of(event: ev.Event) -> Priority:
    """An event's turn at Slack. A hotfix's plan, posted from the stream (Slack held it up at
    first), goes before the ordinary plans waiting there: it is what on-call must act on."""
    if isinstance(event, ev.RunRequested) and event.run.is_hotfix:
        return Priority.ACT
    return PRIORITY.get(type(event), Priority.FINAL)


PASSED = Verdict(())  # the policy's verdict on every plan whose message is redrawn
SHOWN_WITHIN = 60.0  # a final state not in Slack by then: the feed tries the event again


class NotYetShown(Exception):
    """A final state is still waiting for its turn at Slack: the feed handles it again."""

    quiet = True
    transient = True


class SlackNotifier:
    """A run's Slack thread: the plumbing (posts keyed by event, the desk that keeps
    messages current, prompts), and the parts that tell each kind of event through it."""

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
        self.live = LiveOutput()
        self._local = threading.local()
        self.plans = PlanNotices(self)
        # before the run has Slack messages (the plan message is posted from this one)
        self.unposted = Handlers[None]().on(ev.RunRequested, self.plans.on_requested)
        self.handlers = Handlers[RunMessages]()  # about a run whose messages are known
        self.parts: tuple[Part, ...] = (
            DecisionNotices(self),
            ApprovalNotices(self),
            RunNotices(self),
            StepNotices(self),
            EscalationNotices(self),
            DoneNotices(self),
            FreezeNotices(self),
            DriftNotices(self),
            PostMortemNotices(self),
        )
        for part in self.parts:
            part.register(self.handlers)

    def post_plan(self, run: RunView, plan: Plan, verdict: Verdict, channel: str) -> bool:
        """Post the plan message at once (the request's task); see PlanNotices.post_plan."""
        return self.plans.post_plan(run, plan, verdict, channel)

    # -- plumbing --------------------------------------------------------------------------
    def deliver(self, stored: Stored) -> None:
        """Handle an event from the outbox. Every post it makes is keyed by the event's id:
        handled again (a retry, or a restart before its position was recorded), an event
        never posts twice. Slack being unreachable, 5xx or rate-limited raises, so the feed
        retries later; a refusal by Slack (a channel gone, say) is logged and passed over."""
        self._local.event = stored.id
        self._local.posts = 0
        try:
            with self.budget.at(priority_of(stored.event)):
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

    def call(
        self, what: str, fn: Callable[[], Any], once: bool = False, post_to: str | None = None
    ) -> Any:
        """`once`: keyed by the event, never repeated (claimed, then made). `post_to`: the
        channel a chat.postMessage goes to: its token is taken before the claim, so a
        process that dies between the claim and the post has only the call itself in
        between, not its wait for the channel (what it claims and never posts is lost)."""
        event: int | None = getattr(self._local, "event", None)
        key = None
        paid: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if once and event is not None:
            self._local.posts += 1
            key = f"event:{event}:{self._local.posts}"
            prepay = getattr(self.client, "paid", None)
            if post_to is not None and prepay is not None:
                patience = PATIENCE[self.budget.priority]
                if not self.budget.acquire(POST, post_to, timeout=patience):
                    raise OverBudget(POST, patience)
                paid = prepay()
            if not self.records.first_delivery(key, self.clock.now()):
                log.info("slack %s for event %s was done before; not repeated", what, event)
                return None
        try:
            with paid:
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
        resp = self.call(
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
            post_to=m.channel,
        )
        return str(resp["ts"]) if resp is not None else None

    def refresh_plan(self, run: RunView, status_line: str | None = None) -> None:
        """Redraw the plan message for what `run` (an event's) says, with who approved and
        the freezes read when the update goes. No policy is evaluated here: a plan whose
        message is redrawn passed it (a refused request gets no later event, a revision that
        fails it is refused)."""
        m = self.records.get(run.id)
        if m is None:
            return

        def render() -> tuple[str, list[bk.Block]]:
            card = self.store.plan_card(run.id)
            blocks = plan_message.plan_blocks(
                card.plan,
                PASSED,
                run,
                approvers=card.approvers,
                status_line=status_line,
                freezes=card.freezes,
                approval=card.approval,
                needs=card.needs,
            )
            return plan_message.plan_fallback(card.plan, run), blocks

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
            live = self.live.text(run_id)
            now = self.clock.now()
            blocks = bk.status_blocks(run, plan, self.store.steps(run_id), live, now)
            return f"Run #{run.id}: {bk.status_word(run, plan, now)}", blocks

        self.show(m.channel, m.status_ts, render, priority, wait)

    def catch_up(self, runs: Sequence[RunView], priority: Priority = Priority.ACT) -> int:
        """Redraw the status message of each of `runs` (those not yet ended) from what the
        store says now: a process killed after its feed handled an event and before the
        desk sent the update (progress and prompts are not waited for) left that message
        behind. The number redrawn."""
        shown = 0
        for run in runs:
            m = self.records.get(run.id)
            if m is None or m.status_ts is None:
                continue
            self.refresh_status(run.id, priority)
            shown += 1
        return shown

    def post_status(self, run: RunView) -> None:
        m = self.records.get(run.id)
        if m is None or m.status_ts is not None:
            return
        plan = self.store.load_plan(run.task_id)
        resp = self.call(
            "post status",
            lambda: self.client.chat_postMessage(
                channel=m.channel,
                thread_ts=m.plan_ts,
                text=f"Run #{run.id}: {bk.status_word(run, plan, self.clock.now())}",
                blocks=bk.status_blocks(run, plan, self.store.steps(run.id), "", self.clock.now()),
            ),
            once=True,
        )
        if resp is not None:
            self.records.set_status(run.id, resp["ts"])

    @property
    def kinds(self) -> frozenset[type[ev.Event]]:
        """The event types it handles: the feed passes the others over."""
        return self.unposted.kinds | self.handlers.kinds

    # -- the Notifier port -----------------------------------------------------------------
    def publish(self, event: ev.Event) -> None:
        if self.unposted.handle(event, None):
            return
        if not self.handlers.handles(type(event)):
            return
        m = self.records.get(event.run.id)
        if m is None:
            return  # not a Slack run (CLI)
        self.handlers.handle(event, m)

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

    def dm(
        self, users: Sequence[str], text: str, blocks: list[bk.Block] | None = None
    ) -> list[tuple[str, str]]:
        """A direct message to each user; the (channel, ts) of those posted."""
        posted = []
        for user in users:
            resp = self.call(
                "dm",
                lambda u=user: self.client.chat_postMessage(  # type: ignore[misc]
                    channel=u, text=text, blocks=blocks
                ),
                once=True,
                post_to=user,
            )
            if resp is not None:
                posted.append((str(resp["channel"]), str(resp["ts"])))
        return posted
