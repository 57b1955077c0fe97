"""Hostile or broken input, signed as Slack signs it, gets a clear answer and never a crash:
no 5xx, no traceback in the log, the server keeps serving, and nothing runs that should not
(a canary file is never touched)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatops.simulator.harness import ChatHarness
from tests.apps import ROOMY, make_app, service_config
from tests.conftest import ROOT

CANARY_NAME = "canary"
INJECTIONS = [
    "; rm -f {canary}",
    "$(rm -f {canary})",
    "`rm -f {canary}`",
    "&& rm -f {canary}",
    "| rm -f {canary}",
    "\n rm -f {canary}",
    "' ; rm -f {canary} ; '",
    '" ; rm -f {canary} ; "',
]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records if r.exc_info]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatHarness, Path, Collect]]:
    base = tmp_path_factory.mktemp("hostile")
    app = make_app(base / "app")
    canary = base / CANARY_NAME
    canary.write_text("untouched\n")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    path = base / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    with ChatHarness(
        config=path,
        commands=ROOT / "commands",
        database_url=f"sqlite:///{base / 'c.db'}",
        throttle=0.05,
        slack_limits=ROOMY,
    ) as slack:
        seen = Collect()
        for name in ("", "uvicorn", "uvicorn.error", "slack_bolt"):
            logging.getLogger(name).addHandler(seen)
        try:
            yield slack, canary, seen
        finally:
            for name in ("", "uvicorn", "uvicorn.error", "slack_bolt"):
                logging.getLogger(name).removeHandler(seen)


def healthy(slack: ChatHarness, canary: Path, seen: Collect) -> None:
    slack.settle()
    assert slack.get("/healthz")[0] == 200
    assert canary.read_text() == "untouched\n"
    assert seen.tracebacks() == []


MALFORMED: list[tuple[str, bytes, str]] = [
    ("payload not JSON", b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    ("invalid UTF-8", b"payload=\xff\xfe\xfd", "application/x-www-form-urlencoded"),
    ("JSON body not JSON", b"{nope", "application/json"),
    ("JSON array", b"[1, 2]", "application/json"),
    (
        "command without user_id",
        b"command=%2Fchange&text=deploy&channel_id=C1",
        "application/x-www-form-urlencoded",
    ),
    (
        "payload without type",
        b"payload=" + json.dumps({"user": {"id": "U1"}}).encode(),
        "application/x-www-form-urlencoded",
    ),
    (
        "user is a string",
        b"payload="
        + json.dumps(
            {"type": "block_actions", "user": "U1", "actions": [{"action_id": "chatops.approve"}]}
        ).encode(),
        "application/x-www-form-urlencoded",
    ),
    (
        "no actions",
        b"payload="
        + json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": []}).encode(),
        "application/x-www-form-urlencoded",
    ),
    (
        "event without event",
        json.dumps({"type": "event_callback", "event_id": "Ev1"}).encode(),
        "application/json",
    ),
    ("unknown type", json.dumps({"type": "nonsense"}).encode(), "application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_signed_request_gets_a_4xx_and_one_log_line(
    rig: tuple[ChatHarness, Path, Collect], body: bytes, content_type: str
) -> None:
    slack, canary, seen = rig
    before = len(seen.records)
    status, answer = slack.post(body.replace(b"%2F", b"%2F"), content_type)
    assert 400 <= status < 500, answer
    new = [r for r in seen.records[before:] if r.levelno >= logging.WARNING]
    assert len(new) == 1 and "refused a request" in new[0].getMessage()
    healthy(slack, canary, seen)


def test_an_unsigned_request_is_refused_before_it_is_read(
    rig: tuple[ChatHarness, Path, Collect],
) -> None:
    slack, canary, seen = rig
    status, _ = slack.post(b"payload=\xff", "application/x-www-form-urlencoded", secret="wrong")
    assert status == 401
    healthy(slack, canary, seen)


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("chatops.approve", "12:notahash"),
        ("chatops.approve", "abc"),
        ("chatops.done", "x:prepare"),
        ("chatops.cancel", "1; rm -f canary"),
        ("chatops.resume", ""),
        ("chatops.rollback", "1 OR 1=1"),
        ("chatops.gate", "99999999999999999999:go"),
        ("chatops.pm_write", "one"),
        ("chatops.pm_snooze", "1 OR 1=1"),
        ("chatops.fix_code", "x"),
        ("chatops.fix_config", "-1"),
        ("chatops.escalate", "1.5"),
        ("chatops.take_over", "run-1"),
        ("chatops.close_escalation", ""),
        ("chatops.reject", "abc:def"),
    ],
)
def test_a_tampered_button_gets_a_private_refusal_and_an_audit_line(
    rig: tuple[ChatHarness, Path, Collect], action_id: str, value: str
) -> None:
    slack, canary, seen = rig
    user = "U_TAMPER"
    message = {
        "type": "block_actions",
        "team": {"id": "T0TEST"},
        "api_app_id": "A0TEST",
        "user": {"id": user},
        "channel": {"id": slack.channel},
        "container": {
            "type": "message",
            "message_ts": f"1.{abs(hash(value))}",
            "channel_id": slack.channel,
        },
        "trigger_id": "t1",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": "1",
            }
        ],
    }
    before = len(slack.ephemerals(user))
    status, _ = slack.send(message)
    assert status == 200
    slack.settle()
    said = slack.ephemerals(user)[before:]
    assert len(said) == 1 and "not one this version of chatops reads" in said[0]
    [event] = slack.wired.queries.recent_audit(1)
    assert event.actor == user and event.action == f"denied.{action_id.removeprefix('chatops.')}"
    healthy(slack, canary, seen)


def _words(canary: Path) -> st.SearchStrategy[str]:
    fragments = [i.format(canary=canary) for i in INJECTIONS]
    pieces = st.one_of(
        st.sampled_from(
            [
                "deploy",
                "web",
                "ref=v2",
                "service=web",
                "hotfix",
                "debug",
                "migration",
                "status",
                "logs",
                "help",
                "edit",
                "1",
                "--",
                "import",
                "since=1h",
                "grep=x",
                "lines=5",
                "environment=production",
                "script=a.js",
            ]
        ),
        st.sampled_from(fragments),
        st.text(max_size=20),
    )
    return st.lists(pieces, max_size=8).map(" ".join)


SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(data=st.data())
def test_any_slash_command_text_is_answered_without_a_crash(
    rig: tuple[ChatHarness, Path, Collect], data: st.DataObject
) -> None:
    slack, canary, seen = rig
    command = data.draw(st.sampled_from(["/change", "/hotfix", "/logs", "/status"]))
    text = data.draw(_words(canary))
    status, _ = slack.command(
        command, text, user=data.draw(st.sampled_from(["U_CODER", "U_ONCALL", "U_NOBODY"]))
    )
    assert status == 200
    mention, _ = slack.mention(text, user="U_ONCALL")
    assert mention == 200
    healthy(slack, canary, seen)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@SETTINGS
@given(data=st.data())
def test_any_interactive_payload_is_answered_without_a_crash(
    rig: tuple[ChatHarness, Path, Collect], data: st.DataObject
) -> None:
    slack, canary, seen = rig
    kind = data.draw(
        st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut"])
    )
    action_id = data.draw(
        st.sampled_from(
            [
                "chatops.approve",
                "chatops.reject",
                "chatops.done",
                "chatops.gate",
                "chatops.cancel",
                "chatops.resume",
                "chatops.rollback",
                "chatops.take_over",
                "chatops.close_escalation",
                "chatops.fix_code",
                "chatops.fix_config",
                "chatops.escalate",
                "chatops.pm_write",
                "chatops.pm_snooze",
                "chatops.pick_process",
                "nonsense",
            ]
        )
    )
    value = data.draw(
        st.one_of(_words(canary), st.from_regex(r"\d{1,3}(:[a-z0-9-]{0,12})?", fullmatch=True))
    )
    callback = data.draw(
        st.sampled_from(
            [
                "chatops.change",
                "chatops.import",
                "chatops.reject_reason",
                "chatops.escalate_reason",
                "chatops.close_escalation_reason",
                "chatops.postmortem",
                "nonsense",
            ]
        )
    )
    payload: dict[str, object] = {
        "type": kind,
        "team": {"id": "T0TEST"},
        "api_app_id": "A0TEST",
        "user": {"id": data.draw(st.sampled_from(["U_LEAD", "U_ARCH", "U_NOBODY"]))},
        "channel": {"id": slack.channel},
        "container": {"message_ts": "1.1", "channel_id": slack.channel},
        "trigger_id": "t",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "value": value,
                "selected_option": data.draw(JSONISH),
            }
        ],
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": callback,
            "private_metadata": data.draw(
                st.one_of(st.just(""), st.text(max_size=30), JSONISH.map(json.dumps))
            ),
            "state": {"values": data.draw(JSONISH)},
            "blocks": [],
        },
    }
    if data.draw(st.booleans()):
        payload[data.draw(st.sampled_from(["actions", "view", "user", "channel"]))] = data.draw(
            JSONISH
        )
    status, _ = slack.send(payload)
    assert status < 500
    healthy(slack, canary, seen)
