"""On-call commands: /hotfix, /logs, /status."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from chatops.engine.incidents.logquery import parse_logs
from chatops.engine.incidents.oncall import LogResult, ServiceStatus
from chatops.engine.planning.params import unknown_service
from chatops.engine.runs.commands import Request
from chatops.errors import ParameterError
from chatops.slack.listeners.services import SlackServices
from chatops.slack.views import blocks as bk

INLINE_LINES = 40
INLINE_CHARS = 2500
HOTFIX_KEYS = ("ref", "environment")


def start_hotfix(s: SlackServices, text: str, user: str, channel: str) -> None:
    """`/hotfix SERVICE [ref=X] [environment=Y] what is broken`: a hotfix plan, now."""
    words = text.split()
    if not words:
        raise ParameterError("usage: `/hotfix SERVICE [ref=BRANCH|TAG|COMMIT] what is broken`")
    service, rest = words[0], words[1:]
    params: dict[str, str] = {"service": service}
    while rest and re.fullmatch(r"[a-z_]+=\S*", rest[0]) and rest[0].split("=")[0] in HOTFIX_KEYS:
        key, _, value = rest.pop(0).partition("=")
        params[key] = value
    if rest and rest[0] == "--":  # `/change`'s separator, typed out of habit
        rest.pop(0)
    summary = " ".join(rest).strip()
    if not summary:
        raise ParameterError("say what is broken: `/hotfix SERVICE what is broken`")
    svc = s.changes.config.services.get(service)
    if svc is None:
        raise unknown_service(service, s.changes.config.services)
    params.setdefault("ref", svc.git.branch)
    made = s.ops.handle(Request("hotfix", params, user, summary, origin=f"slack:{channel}"))
    s.post_plan(made, channel)


def logs_message(res: LogResult) -> tuple[str, list[bk.Block], dict[str, str]]:
    """Text, blocks, and the outputs too long to show inline (host -> content)."""
    q = res.query
    head = f":page_facing_up: *Logs of {q.service}*: last {q.lines} lines"
    head += f", since {q.since}" if q.since else ""
    head += f", matching {bk.code_span(q.grep)}" if q.grep else ""
    head += f", {q.stream}" if q.stream != "all" else ""
    blocks: list[bk.Block] = [bk.section(head)]
    files: dict[str, str] = {}
    for note in res.notes:
        blocks.append(bk.context(note))
    for r in res.results:
        if r.outcome not in ("ok", "failed"):
            blocks.append(
                bk.section(
                    f":warning: *{r.host}*: {r.outcome.replace('_', ' ')}: {bk.escape(r.error)}"
                )
            )
            continue
        out = res.outputs.get(r.host, r.tail).rstrip()
        if not out:
            blocks.append(
                bk.section(
                    f"*{r.host}*: no lines" + (f" (exit {r.exit_code})" if r.exit_code else "")
                )
            )
        elif out.count("\n") >= INLINE_LINES or len(out) > INLINE_CHARS:
            files[r.host] = out + "\n"
            blocks.append(
                bk.section(f"*{r.host}*: {out.count(chr(10)) + 1} lines, attached as a file")
            )
        else:
            blocks.append(bk.section(f"*{r.host}*\n{bk.code(out)}"))
    return head, blocks[:50], files


def status_blocks(st: ServiceStatus) -> list[bk.Block]:
    lines = [f":satellite: *{st.service} / {st.environment}*"]
    for h in st.hosts:
        extra = " · ".join(
            x
            for x in (
                f"up {h.uptime}" if h.uptime else "",
                f"{h.restarts} restarts" if h.restarts else "",
                h.detail,
            )
            if x
        )
        lines.append(
            f"• *{h.host}*: {bk.escape(h.state)}" + (f" ({bk.escape(extra)})" if extra else "")
        )
    lines.append(f"*Health:* {bk.escape(st.health)}")
    for f in st.freezes:
        lines.append(f":snowflake: {bk.escape(f.describe())}")
    if st.contradiction:
        lines.append(f":warning: {st.contradiction}")
    if st.last_success is not None:
        r = st.last_success
        lines.append(
            f"*Last successful run:* #{r.id} {r.runbook} by <@{r.requester}>, "
            f"{bk.when(r.updated_at)}"
        )
    else:
        lines.append("*Last successful run:* none")
    if st.active:
        lines.append(
            "*In progress:* "
            + ", ".join(
                f"#{r.id} {r.runbook} ({r.state.value})"
                + (" :rotating_light:" if r.is_hotfix else "")
                for r in st.active
            )
        )
    if st.open_postmortems:
        lines.append(
            ":memo: *Open post-mortems:* " + ", ".join(f"run #{i}" for i in st.open_postmortems)
        )
    return [bk.section("\n".join(lines))]


def post_logs(s: SlackServices, text: str, user: str, channel: str) -> None:
    """`/logs SERVICE ...`: the lines, per host, in the channel (long ones as files)."""
    q = parse_logs(text, s.changes.config.policies.logs_max_lines)
    res = s.engine.oncall.logs(q, user)
    head, blocks, files = logs_message(res)
    resp = s.client.chat_postMessage(channel=channel, text=f"{head} (for <@{user}>)", blocks=blocks)
    for host, content in files.items():
        s.client.files_upload_v2(
            channel=channel,
            thread_ts=resp["ts"],
            content=content,
            filename=f"logs-{q.service}-{host}.txt",
            title=f"{q.service} on {host}: logs",
        )


def post_status(s: SlackServices, text: str, user: str, channel: str) -> None:
    """`/status SERVICE [environment]`: shown to the asker only."""
    words = text.split()
    if not words:
        raise ParameterError("usage: `/status SERVICE [environment]`")
    st = s.engine.oncall.status(words[0], user, words[1] if len(words) > 1 else None)
    s.client.chat_postEphemeral(
        channel=channel, user=user, text=f"Status of {st.service}", blocks=status_blocks(st)
    )


def slash_command(
    app: App, s: SlackServices, name: str, work: Callable[[SlackServices, str, str, str], None]
) -> None:
    """A command answered on a task: acked at once, refusals shown to the asker only."""

    @app.command(name)
    def handler(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        if not s.first(f"command:{command.get('trigger_id')}"):
            return
        s.workers.task(
            lambda: work(s, command.get("text", ""), user, channel),
            s.ephemeral(channel, user),
            urgent=True,  # on-call's: never behind a flood of ordinary requests
        )


def register(app: App, s: SlackServices) -> None:
    slash_command(app, s, "/hotfix", start_hotfix)
    slash_command(app, s, "/logs", post_logs)
    slash_command(app, s, "/status", post_status)
