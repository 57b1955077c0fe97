"""The plan message: posted at once by the request's task, or from the event stream when
that could not (Slack failing, the process gone); claimed, so exactly one of them posts.
A part of the thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from chatops.engine.domain import events as ev
from chatops.engine.domain.agent_rules import is_agent
from chatops.engine.domain.run import RunView
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk
from chatops.slack.views import plan_message

log = logging.getLogger(__name__)


class PlanNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def on_requested(self, e: ev.RunRequested, _: None = None) -> None:
        """The plan message, from the event stream: posted here if the request's own task
        did not post it at once (Slack was failing then, or the process died)."""
        if not e.origin.startswith("slack:") or self.thread.records.get(e.run.id) is not None:
            return  # not asked in Slack, or posted at once (the usual case): nothing to do
        plan = self.thread.store.load_plan(e.run.task_id)
        verdict = Verdict(e.refusals)  # the policy's verdict, as the request recorded it
        try:
            posted = self.post_plan(e.run, plan, verdict, e.origin.removeprefix("slack:"))
        except SlackApiError as err:
            if transient(err):
                raise  # Slack is down or busy: the feed tries again later
            log.warning("slack refused the plan of run %s: %s", e.run.id, err.response.get("error"))
            return
        if not posted:
            raise PlanPending(f"the plan of run {e.run.id} is being posted elsewhere")

    def post_plan(self, run: RunView, plan: Plan, verdict: Verdict, channel: str) -> bool:
        """Post the plan message once, whoever asks first (the request's task, at once; the
        event stream, as the fallback). True when it is posted or was; False while another
        thread holds the claim; raises what Slack raised (the claim is let go)."""
        if self.thread.records.get(run.id) is not None:
            return True
        key = f"plan:{run.id}"
        if not self.thread.records.first_delivery(key, self.thread.clock.now()):
            return self.thread.records.get(run.id) is not None
        card = self.thread.store.plan_card(run.id)
        blocks, rest = plan_message.plan_parts(
            plan,
            verdict,
            run,
            freezes=card.freezes,
            approval=card.approval,
            needs=card.needs if verdict.ok else "",
        )
        try:
            resp = self.thread.client.chat_postMessage(
                channel=channel,
                text=plan_message.plan_fallback(plan, run),
                blocks=blocks,
                unfurl_links=False,
            )
        except Exception:
            self.thread.records.forget(key)
            raise
        self.thread.records.save(run.id, channel, str(resp["ts"]))
        m = self.thread.records.get(run.id)
        if plan.on_behalf_of and is_agent(run.requester):  # the person hears it from us
            self.thread.dm(
                [plan.on_behalf_of],
                f":robot_face: {bk.escape(run.requester.removeprefix('agent:'))} asked for "
                f"run #{run.id} ({plan.runbook} on {plan.service}/{plan.environment}) on your "
                f"behalf, in <#{channel}>. If you did not ask for it, reject it there or tell "
                "a lead.",
            )
        for i, more in enumerate(rest, 1):  # the steps the message had no room for
            if m is not None:
                self.thread.reply(
                    m, f"Plan of run #{run.id}, the rest of its steps ({i}/{len(rest)})", more
                )
        if not verdict.ok and m is not None:
            reasons = "\n".join(f"• {bk.escape(r)}" for r in verdict.reasons)
            self.thread.reply(
                m, f":no_entry: This plan breaks the process and cannot be approved:\n{reasons}"
            )
        return True


def transient(e: Exception) -> bool:
    """Slack unreachable, failing or rate-limiting: worth trying the event again later."""
    if isinstance(e, PlanPending) or getattr(e, "transient", False) is True:
        return True  # OverBudget too: Slack's limit, waited out
    if isinstance(e, SlackApiError):
        status = getattr(e.response, "status_code", 200)
        return status == 429 or status >= 500 or e.response.get("error") == "ratelimited"
    return isinstance(e, OSError | TimeoutError)


class PlanPending(Exception):
    """Another thread claimed the plan's post and has not recorded it yet: try again."""

    quiet = True  # an expected wait, not a failure: the feed retries without a traceback
