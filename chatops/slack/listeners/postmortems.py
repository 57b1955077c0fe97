"""Post-mortem buttons (write, snooze) and the post-mortem form."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from chatops.engine.domain.postmortem import QUESTIONS
from chatops.errors import ChatopsError
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import blocks as bk
from chatops.slack.views import modals


def register(app: App, s: SlackServices) -> None:
    pms = s.engine.postmortems

    def _where(body: dict[str, Any]) -> tuple[str, str]:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or user
        return user, channel

    @app.action(bk.A_PM_WRITE)
    def write(ack: Ack, body: dict[str, Any], client: Any) -> None:
        ack()
        user, channel = _where(body)

        def work() -> None:
            run_id = int(s.button(body)[0])
            pm = pms.get(run_id)
            view = modals.postmortem_modal(run_id, pms.timeline(run_id), pm.answers)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        s.workers.task(work, s.ephemeral(channel, user))

    @app.action(bk.A_PM_SNOOZE)
    def snooze(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user, channel = _where(body)

        def work() -> None:
            run_id = int(s.button(body)[0])
            pm = pms.snooze(run_id, user)
            assert pm.snoozed_until is not None
            s.ephemeral(channel, user)(
                f":zzz: Reminders for run #{run_id} snoozed until {bk.when(pm.snoozed_until)}."
            )

        s.workers.task(work, s.ephemeral(channel, user))

    @app.view(modals.POSTMORTEM)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        run_id = modals.run_of(modals.metadata(view))
        vals = modals.values(view)
        answers = {k: vals.get(k, "") for k, _q in QUESTIONS}
        answers["timeline"] = vals.get("timeline", "")
        missing = {k: "Please answer this." for k, _q in QUESTIONS if not answers[k].strip()}
        if missing:
            ack(response_action="errors", errors=missing)
            return
        try:
            pms.submit(run_id, user, answers)
        except ChatopsError as e:
            ack(response_action="errors", errors={QUESTIONS[0][0]: str(e)[:300]})
            return
        ack()
