"""A run's page as HTML: every text escaped, no script, no resource from elsewhere. The one
style sheet is inline and allowed by its hash in the Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape
from urllib.parse import quote

from chatops.engine.domain.postmortem import QUESTIONS
from chatops.engine.runs.pages import RunPage
from chatops.engine.runs.printable import printable

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d1c1d}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;
vertical-align:top;border-bottom:1px solid #eee}pre{background:#f6f6f6;padding:.5rem;
overflow:auto;max-height:24rem;white-space:pre-wrap}code{font-size:.9em}
.succeeded{color:#1a7f37}.failed,.rolled_back,.interrupted{color:#cf222e}
.running,.waiting{color:#9a6700}.meta{color:#616061}
""".strip()
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LIVE_EVERY = 3  # seconds between reloads while the run goes on


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _when(at: datetime | None) -> str:
    return "" if at is None else _t(at.strftime("%Y-%m-%d %H:%M:%S UTC"))


def document(title: str, body: str, refresh: int | None = None) -> str:
    head = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{head}<title>{_t(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def run_page(page: RunPage, token: str) -> str:
    run, plan = page.run, page.plan
    live = not run.state.is_terminal
    t = quote(token, safe="")
    parts = [
        f"<h1>Run #{run.id}: {_t(plan.title)}</h1>",
        f'<p class="meta"><span class="{_t(run.state.value)}" id="state">'
        f"{_t(run.state.value)}</span> · {_t(plan.runbook)} on "
        f"{_t(plan.service or '-')} / {_t(plan.environment or '-')} · requested by "
        f"{_t(plan.requester)}"
        + (f" for {_t(plan.on_behalf_of)}" if plan.on_behalf_of else "")
        + f" at {_when(run.created_at)} · seen by {_t(page.viewer)}"
        + (f" · this page reloads every {LIVE_EVERY} s while the run goes on" if live else "")
        + "</p>",
    ]
    if run.error:
        parts.append(f"<p><strong>Error:</strong> {_t(run.error)}</p>")
    parts.append("<h2>The plan as approved</h2>")
    parts.append(
        f'<p>{_t(plan.objective)}</p><p class="meta">task <code>{_t(plan.task_id)}</code> · '
        f"plan hash <code>{_t(plan.sha256)}</code>"
        + (f" · rule: {_t(plan.approval_rule)}" if plan.approval_rule else "")
        + "</p>"
    )
    if plan.request:
        parts.append(f"<p>Asked: {_t(plan.request)}</p>")
    rows = []
    for i, step in enumerate(plan.steps, 1):
        commands = "".join(
            f"<div><code>{_t(c.host)}$ {_t(c.command)}</code></div>" for c in step.commands
        )
        if step.http is not None:
            commands += f"<div><code>GET {_t(step.http.url)}</code></div>"
        rows.append(
            f"<tr><td>{i}</td><td><code>{_t(step.id)}</code></td><td>{_t(step.title)}</td>"
            f"<td>{_t(step.kind)}</td><td>{commands}</td></tr>"
        )
    parts.append(
        "<table><tr><th>#</th><th>step</th><th>what</th><th>kind</th><th>commands</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    parts.append("<h2>Approvals</h2>")
    if page.approvals:
        parts.append(
            "<table><tr><th>who</th><th>roles</th><th>when</th><th>of</th></tr>"
            + "".join(
                f"<tr><td>{_t(a.user)}</td><td>{_t(', '.join(a.roles))}</td>"
                f"<td>{_when(a.at)}</td><td>{_t(a.step_id or 'the plan')} "
                f"<code>{_t(a.plan_hash[:12])}</code></td></tr>"
                for a in page.approvals
            )
            + "</table>"
        )
    else:
        parts.append("<p>None yet.</p>")
    parts.append("<h2>Steps</h2>")
    if not page.steps:
        parts.append("<p>No step has started.</p>")
    for s in page.steps:
        code = "" if s.exit_code is None else f" · exit {s.exit_code}"
        href = f"/runs/{run.id}/output/{s.id}?t={t}"
        parts.append(
            f'<h3 id="step-{s.id}"><code>{_t(s.step_id)}</code>'
            + (" (rollback)" if s.phase == "rollback" else "")
            + f' on {_t(s.host or "-")}: <span class="{_t(s.state.value)}">'
            f"{_t(s.state.value)}</span>{_t(code)}</h3>"
            f'<p class="meta">{_when(s.started_at)} to {_when(s.finished_at)}'
            + (f" · {_t(s.actor)}" if s.actor else "")
            + (f' · <a href="{_t(href)}">whole output</a>' if s.host else "")
            + "</p>"
        )
        if s.error:
            parts.append(f"<p><strong>{_t(s.error)}</strong></p>")
        if s.tail.strip():
            parts.append(f"<pre>{_t(printable(s.tail))}</pre>")
    pm = page.postmortem
    if pm is not None:
        parts.append("<h2>Post-mortem</h2>")
        owners = ", ".join(pm.owners)
        if pm.done_at is None:
            parts.append(
                f"<p>Open: owners {_t(owners)}, due {_when(pm.due_at)}, "
                f"{pm.reminders_sent} reminder(s) sent.</p>"
            )
        else:
            parts.append(
                f"<p>Written by {_t(pm.author or '-')} at {_when(pm.done_at)} "
                f"(owners {_t(owners)}).</p>"
            )
            parts.extend(
                f"<h3>{_t(question)}</h3><p>{_t(pm.answers.get(key, ''))}</p>"
                for key, question in QUESTIONS
            )
    parts.append("<h2>Audit trail</h2>")
    if page.chain:
        parts.append(f'<p class="meta" id="chain">The whole trail: {_t(page.chain)}</p>')
    parts.append(
        "<table><tr><th>when</th><th>who</th><th>what</th><th>detail</th></tr>"
        + "".join(
            f"<tr><td>{_when(e.at)}</td><td>{_t(e.actor)}</td><td>{_t(e.action)}</td>"
            f"<td>{_t(e.detail)}</td></tr>"
            for e in page.audit
        )
        + "</table>"
    )
    return document(f"Run #{run.id}", "".join(parts), LIVE_EVERY if live else None)


def refusal_page(status: int, message: str) -> str:
    heading = {403: "Not for this link", 404: "Not found"}.get(status, "Refused")
    return document(heading, f"<h1>{_t(heading)}</h1><p>{_t(message)}</p>")
