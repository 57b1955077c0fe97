"""Block Kit as readable terminal text: headers, fields, code blocks, numbered buttons."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

WIDTH = 96


@dataclass
class Button:
    label: str
    action_id: str
    value: str
    confirm: dict[str, Any] | None
    surface: str = "message"  # or "home": the App Home's (pressed on the view, not a message)


EMOJI = {
    ":white_check_mark:": "✔",
    ":x:": "✘",
    ":warning:": "⚠",
    ":no_entry:": "⛔",
    ":no_entry_sign:": "⊘",
    ":hourglass:": "⌛",
    ":hourglass_flowing_sand:": "⌛",
    ":arrows_counterclockwise:": "↻",
    ":white_circle:": "○",
    ":fast_forward:": "»",
    ":leftwards_arrow_with_hook:": "↩",
    ":rotating_light:": "🚨",
    ":memo:": "📝",
    ":bell:": "🔔",
    ":sos:": "🆘",
    ":zzz:": "💤",
    ":boom:": "💥",
    ":pencil2:": "✎",
    ":raised_hand:": "✋",
    ":bust_in_silhouette:": "👤",
    ":ballot_box_with_check:": "☑",
    ":stethoscope:": "🩺",
    ":satellite:": "📡",
    ":page_facing_up:": "📄",
    ":arrow_forward:": "▶",
    ":hammer_and_wrench:": "🛠",
    ":large_green_circle:": "●",
    ":red_circle:": "●",
    ":robot_face:": "🤖",
    ":mag:": "🔍",
    ":bar_chart:": "📊",
    ":alarm_clock:": "⏰",
    ":snowflake:": "❄",
    ":sunny:": "☀",
    ":scroll:": "📜",
    ":question:": "?",
    ":grey_question:": "?",
}


def mrkdwn(text: str) -> str:
    for code, symbol in EMOJI.items():
        text = text.replace(code, symbol)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"\1", text)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)>", r"@\1", text)
    text = re.sub(r"<@([^>|]+)(\|[^>]*)?>", r"@\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text


def _text(t: str, width: int = WIDTH) -> list[str]:
    """Wrap prose to `width`, keep code blocks as they are (indented)."""
    out: list[str] = []
    parts = mrkdwn(t).split("```")
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.extend("    " + line for line in part.strip("\n").splitlines())
        else:
            for line in part.strip("\n").splitlines():
                if line.startswith(">"):  # a quote in Slack's mrkdwn
                    out.extend("┃ " + w for w in textwrap.wrap(line[1:].strip(), width - 2) or [""])
                else:
                    # a link stays whole, to be copied
                    out.extend(
                        textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
                        or [""]
                    )
    return out


def _columns(fields: list[str], width: int = WIDTH) -> list[str]:
    """Section fields in two columns, each wrapped to its width (Slack shows them so)."""
    half = (width - 2) // 2
    lines: list[str] = []
    for left, right in zip(fields[::2], [*fields[1::2], ""], strict=False):
        lw = textwrap.wrap(left, half) or [""]
        rw = textwrap.wrap(right, half) or [""]
        for i in range(max(len(lw), len(rw))):
            a = lw[i] if i < len(lw) else ""
            b = rw[i] if i < len(rw) else ""
            lines.append(f"{a:<{half}}  {b}".rstrip())
    return lines


def blocks_text(
    blocks: list[dict[str, Any]], fallback: str, buttons: list[Button], width: int = WIDTH
) -> list[str]:
    """Lines for a message, prose wrapped once to `width` (the room left beside a prefix);
    its buttons are appended to `buttons` and shown by number."""
    if not blocks:
        return _text(fallback, width)
    lines: list[str] = []
    for b in blocks:
        kind = b.get("type")
        if kind == "header":
            title = b["text"]["text"]
            lines += [title.upper(), "=" * min(len(title), width)]
        elif kind == "section":
            if "text" in b:
                lines += _text(b["text"]["text"], width)
            fields = [mrkdwn(f["text"]).replace("\n", ": ", 1) for f in b.get("fields", [])]
            lines += _columns(fields, width)
            if b.get("accessory"):  # Slack draws it beside the text: here, under it
                shown = _controls([b["accessory"]], buttons)
                if shown:
                    lines.append("  ".join(shown))
        elif kind == "context":
            lines += [
                "  " + line
                for e in b.get("elements", [])
                if "text" in e
                for line in _text(e["text"], width - 2)
            ]
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind in ("actions", "context_actions"):
            shown = _controls(b.get("elements", []), buttons)
            if shown:
                lines.append("  ".join(shown))
    return lines


def _controls(elements: list[dict[str, Any]], buttons: list[Button]) -> list[str]:
    """Every element a person can press, numbered: buttons (an icon button too), each item
    of an overflow menu, each of a pair of feedback buttons."""
    shown = []

    def add(label: str, action_id: str, value: str, confirm: Any = None) -> None:
        buttons.append(Button(label, action_id, value, confirm))
        shown.append(f"[{len(buttons)}] {label}")

    for e in elements:
        kind = e.get("type")
        if kind in ("button", "icon_button"):
            add(e["text"]["text"], e["action_id"], e.get("value", ""), e.get("confirm"))
        elif kind == "overflow":
            for o in e.get("options", []):
                add(f"{o['text']['text']} (menu)", e["action_id"], o.get("value", ""))
        elif kind == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                if side in e:
                    add(e[side]["text"]["text"], e["action_id"], e[side].get("value", ""))
    return shown


def view_text(view: dict[str, Any], buttons: list[Button]) -> list[str]:
    lines = [f"== {view.get('title', {}).get('text', '')} =="]
    for b in view.get("blocks", []):
        if b.get("type") == "input":
            continue
        lines += blocks_text([b], "", buttons)
    return lines
