"""A run's page as HTML: the plan as approved, who asked and who approved, the timeline,
each step per host with its output (live while it runs), the post-mortem and the audit
rows with the chain's verdict. Every text is escaped; the page's changing part is `#live`,
which the page's script swaps for a fresh one when the run's events say it changed."""

from __future__ import annotations

from urllib.parse import quote

from chatops.engine.domain.delivery import time_to_approve
from chatops.engine.domain.postmortem import QUESTIONS
from chatops.engine.planning.drift import facts_said
from chatops.engine.planning.durations import spoken
from chatops.engine.planning.starts import starts_said
from chatops.engine.runs.history import course
from chatops.engine.runs.pages import RunPage
from chatops.web.ansi import AnsiHtml, lines_of
from chatops.web.html import document, t, when

__all__ = ["run_page"]

LIVE_LINES = 40  # the newest lines of a running step shown on the run's page


def _plan(page: RunPage) -> list[str]:
    plan = page.plan
    parts = [
        "<h2>The plan as approved</h2>",
        f'<p>{t(plan.objective)}</p><p class="meta">task <code>{t(plan.task_id)}</code> · '
        f"plan hash <code>{t(plan.sha256)}</code>"
        + (f" · rule: {t(plan.approval_rule)}" if plan.approval_rule else "")
        + "</p>",
    ]
    if plan.request:
        parts.append(f"<p>Asked: {t(plan.request)}</p>")
    if plan.start is not None:
        parts.append(f'<p id="start">Starts at {t(starts_said(plan.start))}.</p>')
    if page.verdict:
        parts.append(
            '<p id="verdict"><strong>The process\'s rules refuse this plan:</strong></p><ul>'
            + "".join(f"<li>{t(r)}</li>" for r in page.verdict)
            + "</ul>"
        )
    else:
        parts.append('<p id="verdict">Policy: the plan keeps every rule of its process.</p>')
    shown = facts_said(plan.facts)
    if shown:  # what approving it approved, as read on its hosts when it was made
        parts.append(
            '<p id="facts">Hosts as shown when it was approved:</p><ul>'
            + "".join(f"<li>{t(s)}</li>" for s in shown)
            + "</ul>"
        )
    rows = []
    for i, step in enumerate([*plan.steps, *plan.rollback], 1):
        commands = "".join(
            f"<div><code>{t(c.host)}$ {t(c.command)}</code></div>" for c in step.commands
        )
        if step.http is not None:
            commands += f"<div><code>GET {t(step.http.url)}</code></div>"
        commands += "".join(
            f'<div class="meta">rollback: <code>{t(c.host)}$ {t(c.command)}</code></div>'
            for c in step.rollback
        )
        if i > len(plan.steps):
            commands = f'<div class="meta">if the run rolls back</div>{commands}'
        rows.append(
            f"<tr><td>{i}</td><td><code>{t(step.id)}</code></td><td>{t(step.title)}</td>"
            f"<td>{t(step.kind)}</td><td>{commands}</td></tr>"
        )
    parts.append(
        "<table><tr><th>#</th><th>step</th><th>what</th><th>kind</th><th>commands</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return parts


def _approvals(page: RunPage) -> list[str]:
    if not page.approvals:
        return ["<h2>Approvals</h2><p>None yet.</p>"]
    waited = time_to_approve(page.run, page.audit)
    took = (
        f'<p class="meta" id="time-to-approve">Approved {t(spoken(waited))} after it was asked.</p>'
        if waited is not None
        else ""
    )
    return [
        f"<h2>Approvals</h2>{took}<table><tr><th>who</th><th>roles</th><th>when</th><th>of</th></tr>"
        + "".join(
            f"<tr><td>{t(a.user)}</td><td>{t(', '.join(a.roles))}</td>"
            f"<td>{when(a.at)}</td><td>{t(a.step_id or 'the plan')} "
            f"<code>{t(a.plan_hash[:12])}</code></td></tr>"
            for a in page.approvals
        )
        + "</table>"
    ]


def _coloured(text: str, last: int = LIVE_LINES) -> str:
    """The last lines of an output, with its colours."""
    colours = AnsiHtml()
    lines = [colours.line(line) for line in lines_of([text])]
    return "\n".join(lines[-last:])


def _steps(page: RunPage, token: str) -> list[str]:
    run = page.run
    parts = ["<h2>Steps</h2>"]
    if not page.steps:
        parts.append("<p>No step has started.</p>")
    tq = quote(token, safe="")
    for s in page.steps:
        code = f" · {s.code}" if s.code else ""
        if not s.host:  # a step's summary: its heading; each host's record follows it
            parts.append(
                f'<h3 id="step-{s.id}"><code>{t(s.step_id)}</code>'
                + (" (rollback)" if s.phase == "rollback" else "")
                + f': <span class="{t(s.state.value)}">{t(s.state.value)}</span></h3>'
                + (f"<p><strong>{t(s.error)}</strong></p>" if s.error else "")
            )
            continue
        base = f"/runs/{run.id}/output/{s.id}"
        links = ""
        if s.host:
            links = (
                f' · <a href="{t(f"{base}?t={tq}")}">whole output</a>'
                f' · <a href="{t(f"{base}?t={tq}&view=plain")}">as text</a>'
                f' · <a href="{t(f"{base}/download?t={tq}")}">download</a>'
                f' · <a href="{t(f"{base}/download?t={tq}&raw=1")}">raw</a>'
            )
        parts.append(
            f'<h4 id="step-{s.id}"><code>{t(s.step_id)}</code>'
            + (" (rollback)" if s.phase == "rollback" else "")
            + f' on {t(s.host)}: <span class="{t(s.state.value)}">'
            f"{t(s.state.value)}</span>{t(code)}</h4>"
            f'<p class="meta">{when(s.started_at)} to {when(s.finished_at)}'
            + (f" · {t(s.actor)}" if s.actor else "")
            + links
            + "</p>"
        )
        if s.error:
            parts.append(f"<p><strong>{t(s.error)}</strong></p>")
        if s.id in page.live:
            parts.append(f'<pre class="tail" id="live-{s.id}">{_coloured(page.live[s.id])}</pre>')
        elif s.tail.strip():
            parts.append(f'<pre class="tail">{_coloured(s.tail, 10_000)}</pre>')
    return parts


def _postmortem(page: RunPage) -> list[str]:
    pm = page.postmortem
    if pm is None:
        return []
    parts = ["<h2>Post-mortem</h2>"]
    owners = ", ".join(pm.owners)
    if pm.done_at is None:
        parts.append(
            f"<p>Open: owners {t(owners)}, due {when(pm.due_at)}, "
            f"{pm.reminders_sent} reminder(s) sent.</p>"
        )
        return parts
    parts.append(
        f"<p>Written by {t(pm.author or '-')} at {when(pm.done_at)} (owners {t(owners)}).</p>"
    )
    parts.extend(
        f"<h3>{t(question)}</h3><p>{t(pm.answers.get(key, ''))}</p>" for key, question in QUESTIONS
    )
    return parts


def _timeline(page: RunPage) -> list[str]:
    return [
        '<h2>Timeline</h2><table id="timeline"><tr><th>when</th><th>who</th><th>what</th></tr>'
        + "".join(
            f'<tr><td class="when">{when(m.at)}</td><td>{t(m.who)}</td><td>{t(m.what)}</td></tr>'
            for m in page.timeline
        )
        + "</table>"
    ]


def _audit(page: RunPage) -> list[str]:
    parts = ["<h2>Audit trail</h2>"]
    if page.chain:
        parts.append(f'<p class="meta" id="chain">The whole trail: {t(page.chain)}</p>')
    parts.append(
        "<table><tr><th>when</th><th>who</th><th>what</th><th>detail</th></tr>"
        + "".join(
            f'<tr><td class="when">{when(e.at)}</td><td>{t(e.actor)}</td><td>{t(e.action)}</td>'
            f"<td>{t(e.detail)}</td></tr>"
            for e in page.audit
        )
        + "</table>"
    )
    return parts


def run_page(page: RunPage, token: str) -> str:
    run, plan = page.run, page.plan
    live = not run.state.is_terminal
    events = f"/runs/{run.id}/events?t={quote(token, safe='')}"
    head = f'<h1>Run #{run.id}: {t(plan.title)}</h1><p class="meta" id="live-note"></p>'
    parts = [
        f'<p class="meta"><span class="{t(run.state.value)}" id="state">'
        f"{t(run.state.value)}</span> · {t(plan.runbook)} on "
        f"{t(plan.service or '-')} / {t(plan.environment or '-')} · requested by "
        f"{t(plan.requester)}"
        + (f" for {t(plan.on_behalf_of)}" if plan.on_behalf_of else "")
        + f" at {when(run.created_at)} · seen by {t(page.viewer)}"
        + (" · updated live while the run goes on" if live else "")
        + "</p>",
    ]
    if run.error:
        parts.append(f"<p><strong>Error:</strong> {t(run.error)}</p>")
    went = course(run, page.audit)
    if went:
        parts.append(f"<p><strong>Course:</strong> {t(went)}</p>")
    for section in (_plan, _approvals):
        parts += section(page)
    parts += _steps(page, token)
    for section in (_postmortem, _timeline, _audit):
        parts += section(page)
    body = (
        f'{head}<div id="live" data-live="{int(live)}" data-version="{t(page.version)}" '
        f'data-events="{t(events)}">{"".join(parts)}</div>'
    )
    return document(f"Run #{run.id}", body, live=live)
