"""Block Kit as Slack checks it, for the Web API stand-in: a message or view that Slack would
refuse is refused here too (`invalid_blocks`, `msg_blocks_too_long`, ...), so a regression
fails a test instead of a workspace.

slack_sdk's own models check each block and view (`Block.parse(...).validate_json()`,
`View(...).validate_json()`); the documented limits they leave out are checked here: 50
blocks a message and 100 a view, a `text` fallback beside blocks, headers of 150
characters, button values of 2000, unique block_ids in a message and action_ids in a block,
10 elements in a context, 10 fields of 2000, a modal title of 24, private_metadata of 3000,
a message text of 40000, and the total Slack enforces without documenting it: blocks whose
texts add up to more than about 12,000 characters are refused (`msg_blocks_too_long`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
BLOCKS_TEXT_TOTAL = 12_000  # what Slack refuses in practice, far below the sum of the limits
HEADER = 150
BUTTON_VALUE = 2000
CONTEXT_ELEMENTS = 10
FIELDS = 10
FIELD_TEXT = 2000
MODAL_TITLE = 24
PRIVATE_METADATA = 3000

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")


def refusal(method: str, args: dict[str, Any]) -> tuple[str, list[str]] | None:
    """Slack's error for this call and what is wrong, or None if Slack would take it."""
    if method in MESSAGE_METHODS:
        return _message(args)
    if method in VIEW_METHODS:
        view = args.get("view")
        if not isinstance(view, dict):
            return ("invalid_arguments", ["no view"])
        wrong = view_problems(view)
        return ("invalid_blocks", wrong) if wrong else None
    return None


def _message(args: dict[str, Any]) -> tuple[str, list[str]] | None:
    text = args.get("text")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        return ("msg_too_long", [f"text is {len(text)} characters (at most {MESSAGE_TEXT})"])
    blocks = args.get("blocks")
    if blocks is None:
        return None if text else ("no_text", ["neither text nor blocks"])
    if not isinstance(blocks, list):
        return ("invalid_blocks_format", ["blocks is not a list"])
    wrong = []
    if not text:
        wrong.append("blocks without a text fallback")
    wrong += blocks_problems(blocks, MESSAGE_BLOCKS)
    if wrong:
        return ("invalid_blocks", wrong)
    total = sum(len(t) for t in texts(blocks))
    if total > BLOCKS_TEXT_TOTAL:
        return ("msg_blocks_too_long", [f"blocks carry {total} characters of text"])
    return None


def view_problems(view: dict[str, Any]) -> list[str]:
    wrong: list[str] = []
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as e:
        wrong.append(f"view: {e}")
    title = (view.get("title") or {}).get("text", "")
    if view.get("type") == "modal" and len(title) > MODAL_TITLE:
        wrong.append(f"modal title is {len(title)} characters (at most {MODAL_TITLE})")
    metadata = view.get("private_metadata") or ""
    if len(metadata) > PRIVATE_METADATA:
        wrong.append(f"private_metadata is {len(metadata)} characters")
    return wrong + blocks_problems(list(view.get("blocks") or []), VIEW_BLOCKS)


def blocks_problems(blocks: list[Any], most: int) -> list[str]:
    wrong: list[str] = []
    if len(blocks) > most:
        wrong.append(f"{len(blocks)} blocks (at most {most})")
    block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"block {i}"
        if not isinstance(raw, dict):
            wrong.append(f"{where} is not an object")
            continue
        parsed = Block.parse(raw)
        if parsed is None:
            wrong.append(f"{where}: unknown type {raw.get('type')!r}")
            continue
        try:
            parsed.validate_json()
        except SlackObjectFormationError as e:
            wrong.append(f"{where} ({raw.get('type')}): {e}")
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                wrong.append(f"{where}: block_id {block_id!r} used twice")
            block_ids.add(block_id)
        wrong += [f"{where} ({raw.get('type')}): {p}" for p in _limits(raw)]
    return wrong


def _limits(block: dict[str, Any]) -> Iterator[str]:
    kind = block.get("type")
    if kind == "header":
        text = (block.get("text") or {}).get("text", "")
        if len(text) > HEADER:
            yield f"header text is {len(text)} characters (at most {HEADER})"
    if kind == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS:
        yield f"{len(block['elements'])} context elements (at most {CONTEXT_ELEMENTS})"
    fields = block.get("fields") or []
    if len(fields) > FIELDS:
        yield f"{len(fields)} fields (at most {FIELDS})"
    for f in fields:
        if len(f.get("text", "")) > FIELD_TEXT:
            yield f"a field of {len(f['text'])} characters (at most {FIELD_TEXT})"
    action_ids: set[str] = set()
    elements = list(block.get("elements") or [])
    if block.get("accessory"):
        elements.append(block["accessory"])
    if block.get("element"):
        elements.append(block["element"])
    for element in elements:
        if not isinstance(element, dict):
            continue
        action_id = element.get("action_id")
        if action_id is not None:
            if action_id in action_ids:
                yield f"action_id {action_id!r} used twice"
            action_ids.add(action_id)
        value = str(element.get("value", ""))
        if element.get("type") == "button" and len(value) > BUTTON_VALUE:
            yield f"a button value of {len(value)} characters (at most {BUTTON_VALUE})"


def texts(node: Any) -> Iterator[str]:
    """Every text a person reads in these blocks."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)
