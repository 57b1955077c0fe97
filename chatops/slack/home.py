"""The App Home: what waits for you, what runs, overdue post-mortems, your services' runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.planning.durations import spoken
from chatops.engine.ports import Clock
from chatops.engine.runs.insights import TeamNumbers
from chatops.engine.runs.overview import Overview
from chatops.engine.runs.queries import Queries
from chatops.slack.records import SlackRecords
from chatops.slack.throttle import Throttle
from chatops.slack.views import blocks as bk

log = logging.getLogger(__name__)
#: Events after which App Homes are published again.
CHANGES = (
    ev.RunRequested,
    ev.ApprovalAdded,  # the approver's home no longer asks them
    ev.RunApproved,
    ev.RunRejected,
    ev.RunExpired,
    ev.StartMissed,
    ev.RunCancelled,
    ev.PlanRevised,
    ev.RunStarted,
    ev.RunWaiting,
    ev.RunFinished,
    ev.RunInterrupted,
    ev.PostMortemOpened,
    ev.PostMortemWritten,
    ev.PostMortemReminded,
)


def team_blocks(n: TeamNumbers) -> list[bk.Block]:
    """The team's four numbers for the last 30 days, and a button to the charts."""
    rate = "-" if n.failure_rate is None else f"{n.failure_rate:.0%} ({n.failed}/{n.ended})"
    per_day = "-" if n.per_day is None else f"{n.per_day:g}/day"
    text = (
        "*The team, last 30 days*\n"
        f"• Deployment frequency: {n.deploys} ({per_day})\n"
        f"• Lead time for changes (p50): {spoken(n.lead_p50_s)}\n"
        f"• Change failure rate: {rate}\n"
        f"• Time to restore (p50): {spoken(n.restore_p50_s)}"
    )
    section = bk.section(text)
    section["accessory"] = bk.button("Insights", bk.A_INSIGHTS, "30d")
    return [section]


def home_view(
    o: Overview, team: TeamNumbers | None = None, notice: str | None = None
) -> dict[str, Any]:
    blocks: list[bk.Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "chatops"}},
        bk.context(
            f"You are <@{o.user}>: {', '.join(sorted(o.roles)) or 'no role'}. "
            "Request a change with `/change` (`/change help` lists the processes)."
        ),
        {"type": "divider"},
    ]
    if notice:
        blocks.append(bk.section(bk.escape_message(notice)[:2900]))
    if o.freezes:
        lines = ["*:snowflake: Change freezes in force*"]
        lines += [f"• {bk.escape(f.describe())}" for f in o.freezes[:10]]
        blocks.append(bk.section("\n".join(lines)))
    if o.to_approve:
        lines = [f"*Waiting for your approval* ({len(o.to_approve)})"]
        for run, plan in o.to_approve[:15]:
            lines.append(
                f"• #{run.id} {bk.escape(plan.title)} on {plan.service}/{plan.environment} "
                f"by {bk.mention(run.requester)}, {bk.when(run.created_at)}"
            )
        blocks.append(bk.section("\n".join(lines)))
    else:
        blocks.append(bk.section("*Waiting for your approval*: nothing"))
    if o.active:
        lines = ["*Running and queued*"]
        for r in o.active[:15]:
            mark = " :rotating_light: hotfix" if r.is_hotfix else ""
            step = f" at `{r.current_step}`" if r.current_step and r.state == "running" else ""
            said = r.state.value
            if r.state == "queued" and r.not_before is not None and r.not_before > o.now:
                said = f"scheduled, starts {bk.when(r.not_before)}"
            lines.append(f"• #{r.id} {r.runbook} {r.service}/{r.environment}: {said}{step}{mark}")
        blocks.append(bk.section("\n".join(lines)))
    if o.overdue:
        lines = [":memo: *Overdue post-mortems*"]
        for pm in o.overdue[:15]:
            lines.append(
                f"• hotfix run #{pm.run_id} on {pm.service}: due {bk.when(pm.due_at)}, "
                f"{pm.reminders_sent} reminders"
            )
        blocks.append(bk.section("\n".join(lines)))
    if o.recent:
        lines = ["*Recent runs of your services*"]
        for r in o.recent:
            lines.append(
                f"• #{r.id} {r.runbook} {r.service}/{r.environment}: {r.state.value} "
                f"({bk.when(r.updated_at)})"
            )
        blocks.append(bk.section("\n".join(lines)))
    if team is not None:
        blocks += [{"type": "divider"}, *team_blocks(team)]
    return {"type": "home", "blocks": blocks[: bk.MAX_BLOCKS]}


class HomePublisher:
    """Publishes App Homes: when opened, and again (at most once a second) when things change."""

    def __init__(
        self,
        client: WebClient,
        queries: Queries,
        clock: Clock,
        records: SlackRecords,
        throttle: Throttle | None = None,
        team: Callable[[], TeamNumbers | None] | None = None,
        notice: Callable[[str], str | None] = lambda _user: None,
    ) -> None:
        self.client = client
        self.notice = notice  # what a person must know first (a refused config, to leads)
        self.team = team  # the team's four numbers (Insights.team), read at most once a minute
        self.queries = queries
        self.clock = clock
        self.records = records
        self.throttle = throttle or Throttle(1.0)
        self.handlers = Handlers[None]()
        for kind in CHANGES:  # what changes what someone's home shows
            self.handlers.on(kind, self.on_change)

    def view(self, user: str) -> dict[str, Any]:
        team = None
        if self.team is not None:
            try:
                team = self.team()
            except Exception:  # the numbers are a nicety: the home is shown without them
                log.exception("could not read the team's numbers for the App Home")
        return home_view(self.queries.overview(user), team, self.notice(user))

    def publish_home(self, user: str) -> None:
        try:
            self.client.views_publish(user_id=user, view=self.view(user))
        except Exception:
            log.exception("could not publish the App Home of %s", user)

    def opened(self, user: str) -> None:
        self.records.home_opened(user, self.clock.now())
        self.publish_home(user)

    def publish(self, event: ev.Event) -> None:
        self.handlers.handle(event, None)

    def on_change(self, event: ev.Event, _: None) -> None:
        for user in self.records.home_users():
            self.throttle.submit(f"home:{user}", lambda u=user: self.publish_home(u))  # type: ignore[misc]
