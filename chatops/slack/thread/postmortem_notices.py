"""What a hotfix's thread and its owners are told about its post-mortem: opened, reminded,
escalated to the leads, written. A part of the
thread (SlackNotifier gives it the plumbing)."""

from __future__ import annotations

from chatops.engine.bus import Handlers
from chatops.engine.domain import events as ev
from chatops.engine.domain.postmortem import QUESTIONS, PostMortem
from chatops.engine.domain.run import RunView
from chatops.slack.records import RunMessages
from chatops.slack.thread.notices import Thread
from chatops.slack.views import blocks as bk
from chatops.slack.views import incident_blocks as ib


class PostMortemNotices:
    def __init__(self, thread: Thread) -> None:
        self.thread = thread

    def register(self, handlers: Handlers[RunMessages]) -> None:
        handlers.on(ev.PostMortemOpened, self.on_postmortem_opened)
        handlers.on(ev.PostMortemReminded, self.on_postmortem_reminder)
        handlers.on(ev.PostMortemEscalated, self.on_postmortem_escalated)
        handlers.on(ev.PostMortemWritten, self.on_postmortem_done)

    def _pm_text(self, run: RunView, head: str, pm: PostMortem) -> str:
        owners = ", ".join(f"<@{u}>" for u in pm.owners)
        return (
            f"{head}\n*Hotfix run #{run.id}* on {run.service or '-'} · owners {owners} · "
            f"due {bk.when(pm.due_at)}"
        )

    def on_postmortem_opened(self, e: ev.PostMortemOpened, m: RunMessages) -> None:
        run = e.run
        pm = e.postmortem
        text = self._pm_text(
            run,
            ":memo: *A post-mortem is open* for this hotfix: why it happened, "
            "how it could have been prevented, what changes in the process, "
            "which documentation was updated.",
            pm,
        )
        self._tell_owners(run, m, pm, text)

    def on_postmortem_reminder(self, e: ev.PostMortemReminded, m: RunMessages) -> None:
        run = e.run
        pm = e.postmortem
        text = self._pm_text(
            run, f":bell: *Reminder {e.count}: the post-mortem is not written yet.*", pm
        )
        self._tell_owners(run, m, pm, text)

    def _tell_owners(self, run: RunView, m: RunMessages, pm: PostMortem, text: str) -> None:
        """In the thread and by DM to each owner, with Write and Snooze."""
        blocks = ib.postmortem_blocks(text, run.id)
        ts = self.thread.reply(m, text, blocks)
        posted = [(m.channel, ts)] if ts is not None else []
        for channel, at in [*posted, *self.thread.dm(pm.owners, text, blocks)]:
            # apart from the run's own prompts: those retire when the run ends, these when
            # the post-mortem is written
            self.thread.records.add_prompt(run.id, channel, at, about="postmortem")

    def on_postmortem_escalated(self, e: ev.PostMortemEscalated, m: RunMessages) -> None:
        run = e.run
        leads = e.leads
        who = ", ".join(f"<@{u}>" for u in leads) or "leads"
        text = (
            f":rotating_light: {who}: the post-mortem of hotfix run #{run.id} is still not "
            f"written after {e.count} reminders."
        )
        self.thread.reply(m, text)
        self.thread.dm([str(u) for u in leads], text)

    def on_postmortem_done(self, e: ev.PostMortemWritten, m: RunMessages) -> None:
        pm = e.postmortem
        parts = [f":white_check_mark: *Post-mortem written* by <@{pm.author}>"]
        for key, question in QUESTIONS:
            parts.append(f"*{question}*\n{bk.escape(pm.answers.get(key, ''))}")
        text = bk.cut("\n".join(parts), 3000)
        self.thread.retire_prompts(
            e.run.id,
            f":white_check_mark: _The post-mortem of hotfix run #{e.run.id} is written "
            f"by <@{pm.author}>: see the thread._",
            about="postmortem",
        )
        self.thread.reply(m, text, [bk.section(text)])
