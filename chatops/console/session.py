"""The console's conversation: type as a Slack user, see what the bot says, press buttons.

Slack commands (as in a channel):
  /change PROCESS [SERVICE] key=value ... -- why   a plan, posted with Approve buttons
  /change                 the form (pick a process, fill its fields)
  /change help            every process and its parameters
  /change edit RUN key=value -- why                change your plan (approvals start over)
  /hotfix SERVICE [ref=BRANCH] what is broken      the on-call fast path
  /logs SERVICE [lines=N] [since=1h] [grep=TEXT] [stream=err]
  /status SERVICE
  /freeze SERVICE|all DURATION reason              leads: only hotfix may run until then
  /unfreeze SERVICE|all
  @chatops PROCESS ... | status SERVICE | logs SERVICE ... | help

The console:
  1  or  /press Approve   press a button by its number or its label (confirms ask y/N)
  /buttons                every button still on screen, numbered
  /as lead  or  /as bob   become the first user with a role, or a user by name
  /who                    who you are
  /home                   open the App Home
  /cancel                 leave a form without submitting it
  (an empty line)         what the bot said meanwhile (a scheduled start, a reminder)
  /help                   this text;  /quit or Ctrl-D leaves
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from chatops.console.render import WIDTH, Button, blocks_text, mrkdwn, view_text
from chatops.engine.planning.config import ROLES
from chatops.simulator.harness import ChatHarness
from chatops.simulator.standin import Message

BUTTONS = re.compile(r"^\[\d+\] ")  # a row of numbered buttons
SLASH = ("/change", "/hotfix", "/logs", "/status", "/freeze", "/unfreeze")


class Replaced:
    """Picking a process replaced the form: the new one was filled, this one is dropped."""


class Console:
    def __init__(
        self,
        slack: ChatHarness,
        users: list[str],
        out: TextIO | None = None,
        read: Callable[[str], str | None] | None = None,
    ) -> None:
        self.slack = slack
        self.users = users
        self.user = users[0] if users else "U_CONSOLE"
        self.out = out or sys.stdout
        self.read = read or _reader(self.out)
        self.buttons: list[Button] = []
        self._edits: dict[int, int] = {}
        self._shown: dict[int, list[str]] = {}
        self._ephemeral = 0
        self._views = 0
        self._picked: dict[str, str] = {}

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        self.say("chatops console: the real bot on a local stand-in for Slack. /help for help.")
        self.say(f"You are {self.user} ({self._roles(self.user)}). Users: {', '.join(self.users)}")
        while True:
            line = self.read(f"{self.user}> ")
            if line is None:
                self.say("bye")
                return 0
            line = line.strip()
            if not line:  # what the bot said while nobody typed (a start, a reminder)
                self.show()
                continue
            try:
                if not self.handle(line):
                    return 0
            except Exception as e:  # the console never dies of a typo
                self.say(f"! {e}")

    def handle(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        if word in ("/quit", "/exit"):
            return False
        if word == "/help":
            self.say(__doc__ or "")
        elif word == "/as":
            self.become(rest.strip())
        elif word == "/who":
            self.say(f"You are {self.user} ({self._roles(self.user)})")
        elif word == "/home":
            self.home()
        elif word == "/buttons":
            self.list_buttons()
        elif word == "/press":
            self.press(rest.strip())
        elif line.isdigit():
            self.press(line)
        elif word in SLASH:
            self.slack.command(word, rest, user=self.user)
            self.show()
        elif line.startswith("@chatops"):
            self.slack.mention(line.removeprefix("@chatops").strip(), user=self.user)
            self.show()
        else:
            self.say(
                "say /change, /hotfix, /logs, /status, @chatops ..., a button number, or /help"
                " (/help lists everything)"
            )
        return True

    def _roles(self, user: str) -> str:
        return ", ".join(sorted(self.slack.services.engine.roles.of(user))) or "no role"

    def become(self, who: str) -> None:
        if who in self.users:
            self.user = who
        elif who in ROLES:
            holders = [u for u in self.users if who in self.slack.services.engine.roles.of(u)]
            if not holders:
                self.say(f"nobody has the {who} role")
                return
            self.user = holders[0]
        else:
            self.say(f"unknown user or role {who!r}; users: {', '.join(self.users)}")
            return
        self.say(f"You are now {self.user} ({self._roles(self.user)})")

    # -- buttons and forms -----------------------------------------------------------------
    def press(self, which: str) -> None:
        found = None
        if which.isdigit() and 1 <= int(which) <= len(self.buttons):
            found = self.buttons[int(which) - 1]
        else:
            matches = [b for b in self.buttons if b.label.lower() == which.lower()]
            found = matches[-1] if matches else None
        if found is None:
            self.say(f"no button {which!r} on screen")
            return
        if found.confirm:
            title = found.confirm.get("title", {}).get("text", "Sure?")
            detail = found.confirm.get("text", {}).get("text", "")
            if detail:
                self.say(mrkdwn(detail))  # what exactly the button does, named
            answer = self.read(f"{title} [y/N] ")
            if (answer or "").strip().lower() not in ("y", "yes"):
                self.say("not pressed")
                return
        if found.surface == "home":
            self._press_on_home(found)
            return
        message = self._message_of(found)
        if message is None:
            self.say(f"the {found.label!r} button is gone: the message changed (/buttons)")
            return
        self.slack.click(found.action_id, user=self.user, message=message, value=found.value)
        self.show()

    def _press_on_home(self, b: Button) -> None:
        """A button of the App Home: a block action from the home view (Slack sends the view
        as its container, with no channel)."""
        view = self._home_view() or {}
        payload = {
            "type": "block_actions",
            "user": {"id": self.user},
            "team": {"id": "T0TEST"},
            "api_app_id": "A0TEST",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {**view, "id": "VHOME", "type": "home"},
            "trigger_id": "console",
            "actions": [
                {
                    "type": "button",
                    "action_id": b.action_id,
                    "block_id": "home",
                    "value": b.value,
                    "action_ts": "0",
                }
            ],
        }
        self.slack.send(payload)
        self.show()

    def fill(self, view: dict[str, Any]) -> None:
        """Fill a form (modal) field by field, then submit it. /cancel leaves it. The
        buttons on screen are never touched here: after the form, numbers mean the buttons
        shown last (a form that grew was filled and submitted by the nested call)."""
        for line in view_text(view, []):
            self.say(line)
        if "submit" not in view:  # a modal that only tells something: nothing to fill
            return
        self.say("(a form: answer each field in turn; /cancel leaves it without submitting)")
        values = self._answers(view)
        if isinstance(values, Replaced):
            return
        if values is None:
            self.say("form closed, nothing submitted")
            return
        _status, body = self.slack.submit(view, values, user=self.user)
        errors = json.loads(body).get("errors", {}) if body else {}
        if errors:  # as in Slack, the form stays open with its values: change what it says
            labels = {
                b.get("block_id"): b["label"]["text"]
                for b in view.get("blocks", [])
                if b.get("type") == "input"
            }
            for field, error in errors.items():
                self.say(f"! {labels.get(field, field)}: {error}")
            self.say("(the form is still open with your answers: Enter keeps one)")
            self._picked.clear()  # every field is asked again, the process too
            self.fill(_refilled(view, values))
            return
        self.show()

    def _answers(self, view: dict[str, Any]) -> dict[str, str] | Replaced | None:
        """The form's values, field by field; None if the person left it."""
        values: dict[str, str] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            label = block["label"]["text"]
            el = block["element"]
            optional = " (optional, Enter to skip)" if block.get("optional") else ""
            if el["type"] == "static_select":
                options = [o["value"] for o in el["options"]]
                initial = (el.get("initial_option") or {}).get("value")
                if block.get("dispatch_action") and initial is not None:
                    picked = self._picked.get(block["block_id"])
                    if picked == initial:  # picked a moment ago: the form grew its fields
                        self.say(f"{label}: {initial}")
                        values[block["block_id"]] = initial
                        continue
                listed = ", ".join(f"[{i}] {v}" for i, v in enumerate(options, 1))
                if initial is None and len(options) == 1:
                    initial = options[0]  # one choice: Enter takes it
                self.say(f"{label}: {listed}" + (f" (Enter for {initial})" if initial else ""))
                value = None
                while value is None:
                    answer = self.read(f"{label} " if label.endswith("?") else f"{label}? ")
                    if answer is None or answer.strip() == "/cancel":
                        return None
                    answer = answer.strip()
                    if answer.isdigit() and 0 < int(answer) <= len(options):
                        value = options[int(answer) - 1]
                    elif answer in options or (not answer and (initial or block.get("optional"))):
                        value = answer or initial or ""
                    else:
                        self.say(f"! pick a number from 1 to {len(options)} (or /cancel)")
                if block.get("dispatch_action") and value and value != initial:
                    self._picked[block["block_id"]] = value
                    self._pick(view, block, value)  # the form grows; that one is filled
                    return Replaced()
            else:
                initial = el.get("initial_value") or ""
                hint = f" [{initial}]" if initial else ""
                limit = int(el.get("max_length") or 3000)
                while True:
                    answer = self.read(f"{label}{optional}{hint}: ")
                    if answer is not None and answer.strip() == "/cancel":
                        return None
                    value = (answer or "").strip() or initial
                    if not value and not block.get("optional"):
                        self.say("! this field is required (as Slack's form requires it): again")
                        continue
                    if len(value) <= limit:
                        break
                    self.say(f"! at most {limit} characters here ({len(value)} given): again")
            if value:
                values[block["block_id"]] = value
        return values

    def _pick(self, view: dict[str, Any], block: dict[str, Any], value: str) -> None:
        payload = {
            "type": "block_actions",
            "user": {"id": self.user},
            "team": {"id": "T0TEST"},
            "view": view,
            "trigger_id": "console",
            "api_app_id": "A0TEST",
            "actions": [
                {
                    "type": "static_select",
                    "action_id": block["element"]["action_id"],
                    "block_id": block["block_id"],
                    "selected_option": {"value": value},
                    "action_ts": "0",
                }
            ],
        }
        self.slack.send(payload)
        self.show()

    # -- what the bot said -----------------------------------------------------------------
    def show(self) -> None:
        self.slack.settle(strict=False)  # a long run goes on; what it said so far is shown
        standin = self.slack.standin
        new_buttons: list[Button] = []
        told: set[str] = set()  # a change told once, even when several messages made it
        for m in list(standin.messages):
            key = id(m)
            if m.channel in self.users and m.channel != self.user:
                self._edits.setdefault(key, m.edits)
                continue  # a DM to someone else
            if key in self._edits and self._edits[key] == m.edits:
                continue
            updated = key in self._edits
            self._edits[key] = m.edits
            where = "[DM] " if m.channel == self.user else ("  │ " if m.thread_ts else "")
            lines = blocks_text(m.blocks, m.text, new_buttons)
            before = self._shown.get(key, [])
            self._shown[key] = lines
            if updated:  # show what changed, naming the message, not the whole of it again
                name = self._name(m, before)
                lines = [  # its buttons always: their numbers are the ones to press now
                    f"(updated {name}) {line}"
                    for line in lines
                    if (line not in before or BUTTONS.match(line))
                    and line.strip()
                    and line not in told
                ]
                told.update(x.split(") ", 1)[1] for x in lines)
                if not lines:
                    continue
            self.say()
            for line in lines:
                self.say(f"{where}{line}")
            for f in m.files:
                self.say(f"{where}[file] {f.get('title')}")
        mine = standin.ephemeral[self._ephemeral :]
        self._ephemeral += len(mine)
        for e in mine:
            if e["user"] != self.user:
                continue  # shown privately to someone else
            self.say()
            # wrapped once, to the room beside "(only you) "; wrapping the lines of a
            # message already wrapped to the full width broke them in three
            lines = blocks_text(e.get("blocks") or [], e["text"], new_buttons, width=WIDTH - 11)
            for n, line in enumerate(lines):
                self.say(f"{'(only you)' if n == 0 else '':<10} {line}".rstrip())
        self.buttons = new_buttons or [b for b in self.buttons if self._live(b)]
        views = standin.views
        fresh = [v for v in views[self._views :] if v["kind"] in ("open", "update")]
        self._views = len(views)
        if fresh:
            self.fill(fresh[-1]["view"])

    def _name(self, m: Message, before: list[str]) -> str:
        """Which message changed, as a person would say it: "plan of run #3", "status of
        run #3", "reply in run #3's thread"."""
        first = mrkdwn(m.text or (before[0] if before else "")).strip()
        if m.thread_ts:
            parent = next(
                (p for p in self.slack.standin.messages if p.ts == m.thread_ts and not p.thread_ts),
                None,
            )
            number = _run_number(parent.text if parent else "")
            if first.startswith("Run #"):
                return f"status of run #{_run_number(first)}"
            return f"reply in run #{number}'s thread" if number else "reply in a thread"
        number = _run_number(m.text + " " + " ".join(before))
        if first.startswith("Plan for") or first.startswith("Plan of"):
            return f"plan of run #{number}" if number else "plan"
        if first.startswith("Run #"):
            return f"status of run #{number}"
        return f"message {first[:30]!r}"

    def _message_of(self, b: Button) -> Message | None:
        for m in reversed(self.slack.standin.messages):
            for e in m.buttons():
                if e["action_id"] == b.action_id and e.get("value", "") == b.value:
                    return m
        return None

    def _live(self, b: Button) -> bool:
        return self._message_of(b) is not None

    def list_buttons(self) -> None:
        """Every button of every message still showing one (each message as it is now)."""
        found: list[Button] = []
        for m in self.slack.standin.messages:
            if m.channel in self.users and m.channel != self.user:
                continue
            before = len(found)
            lines = blocks_text(m.blocks, m.text, found)
            if len(found) > before:  # each message as it reads now (its first line)
                self.say(f"  {self._name(m, lines)}: {(lines[0] if lines else '')[:70]}")
                self.say("    " + "  ".join(x for x in lines if BUTTONS.match(x)))
        home = self._home_view()
        if home is not None:  # the App Home's, as last opened
            before = len(found)
            lines = blocks_text(home.get("blocks", []), "", found)
            for b in found[before:]:
                b.surface = "home"
            if len(found) > before:
                self.say("  [home] your App Home")
                self.say("    " + "  ".join(x for x in lines if BUTTONS.match(x)))
        if not found:
            self.say("no buttons on screen")
        self.buttons = found

    def _home_view(self) -> dict[str, Any] | None:
        """The App Home last published for this user, if any."""
        homes = [
            v
            for v in self.slack.standin.views
            if v["kind"] == "publish" and v["user_id"] == self.user
        ]
        return homes[-1]["view"] if homes else None

    def home(self) -> None:
        self.slack.post(
            json.dumps(
                {
                    "type": "event_callback",
                    "team_id": "T0TEST",
                    "api_app_id": "A0TEST",
                    "event_id": f"Evhome{len(self.slack.standin.calls)}",
                    "event": {"type": "app_home_opened", "user": self.user, "tab": "home"},
                }
            ).encode(),
            "application/json",
        )
        self.slack.settle(strict=False)  # a long run goes on; what it said so far is shown
        views = [
            v
            for v in self.slack.standin.views
            if v["kind"] == "publish" and v["user_id"] == self.user
        ]
        if not views:
            self.say("(no App Home yet)")
            return
        self.buttons = []
        self.say()
        for line in blocks_text(views[-1]["view"].get("blocks", []), "", self.buttons):
            self.say(f"[home] {line}")
        for b in self.buttons:
            b.surface = "home"
        self._views = len(self.slack.standin.views)


def _run_number(text: str) -> str:
    found = re.search(r"\b[Rr]un #(\d+)", text)
    return found.group(1) if found else ""


def _refilled(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The form again with the answers given as its initial values (a refused submission
    keeps them, as a Slack modal does)."""
    blocks = []
    for block in view.get("blocks", []):
        given = values.get(block.get("block_id", ""))
        if block.get("type") == "input" and given:
            el = dict(block["element"])
            if el["type"] == "static_select":
                text = {"type": "plain_text", "text": given}
                el["initial_option"] = {"text": text, "value": given}
            else:
                el["initial_value"] = given
            block = {**block, "element": el}
        blocks.append(block)
    return {**view, "blocks": blocks}


def _reader(out: TextIO) -> Callable[[str], str | None]:
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401 - line editing and history for input()

    def read(prompt: str) -> str | None:
        if interactive:
            try:
                return input(prompt)
            except EOFError:
                return None
        out.write(prompt)
        out.flush()
        line = sys.stdin.readline()
        if not line:
            return None
        out.write(line if line.endswith("\n") else line + "\n")
        return line.rstrip("\n")

    return read
