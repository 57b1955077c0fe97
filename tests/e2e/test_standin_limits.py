"""The Web API stand-in refuses what Slack refuses and rate-limits as Slack does, over real
HTTP from slack_sdk's own client (so the bot's tests cannot pass on a message Slack would
refuse)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.simulator import standin as standin_module
from chatops.simulator.ratelimits import Limits, Rate
from chatops.simulator.standin import SlackStandIn


@pytest.fixture
def slack() -> Iterator[tuple[SlackStandIn, WebClient]]:
    s = SlackStandIn().start()
    yield s, WebClient(token="xoxb-test", base_url=s.api_url)
    s.stop()
    standin_module.REFUSED.clear()  # these tests are about refusals


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def refused(client: WebClient, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", **kwargs)
    return str(e.value.response["error"])


def test_a_good_message_is_taken(slack: tuple[SlackStandIn, WebClient]) -> None:
    s, client = slack
    client.chat_postMessage(channel="C1", text="fallback", blocks=[section("hello")])
    assert s.refusals == [] and len(s.messages) == 1


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([section("x" * 3001)], "3000"),
        ([section(f"b{i}") for i in range(51)], "51 blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header"),
        ([{"type": "no_such_block"}], "unknown type"),
        ([section("a", block_id="same"), section("b", block_id="same")], "used twice"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "A"},
                            "action_id": "x",
                        },
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "B"},
                            "action_id": "x",
                        },
                    ],
                }
            ],
            "action_id 'x' used twice",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "A"},
                            "action_id": "a",
                            "value": "v" * 2001,
                        }
                    ],
                }
            ],
            "2000",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "context",
        ),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "fields"),
    ],
)
def test_broken_block_kit_is_refused_as_invalid_blocks(
    slack: tuple[SlackStandIn, WebClient], blocks: list[dict[str, Any]], problem: str
) -> None:
    s, client = slack
    assert refused(client, text="fallback", blocks=blocks) == "invalid_blocks"
    assert problem in " ".join(s.refusals[-1].problems)
    assert s.messages == []  # nothing was posted
    assert standin_module.REFUSED[-1] is s.refusals[-1]  # the tests' conftest sees it


def test_blocks_without_a_text_fallback_are_refused(slack: tuple[SlackStandIn, WebClient]) -> None:
    s, client = slack
    assert refused(client, blocks=[section("hello")]) == "invalid_blocks"
    assert "fallback" in s.refusals[-1].problems[0]


def test_blocks_carrying_too_much_text_in_all_are_refused(
    slack: tuple[SlackStandIn, WebClient],
) -> None:
    _s, client = slack
    five = [section("y" * 2900) for _ in range(5)]  # each block within its limit
    assert refused(client, text="fallback", blocks=five) == "msg_blocks_too_long"
    assert refused(client, text="t" * 40_001) == "msg_too_long"


def test_views_are_checked_too(slack: tuple[SlackStandIn, WebClient]) -> None:
    s, client = slack
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title that is too long"},
        "blocks": [section("body")],
    }
    client.views_open(trigger_id="t1", view=view)  # 24 characters: taken
    view["title"] = {"type": "plain_text", "text": "A title that is too long!"}
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="t2", view=view)
    assert e.value.response["error"] == "invalid_blocks"
    view.update(title={"type": "plain_text", "text": "ok"}, private_metadata="m" * 3001)
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="t3", view=view)
    assert "private_metadata" in s.refusals[-1].problems[-1]


def test_past_its_tier_a_method_is_answered_429_with_retry_after() -> None:
    clock = [0.0]
    limits = Limits({"chat.update": Rate(50, 20)}, Rate(60, 4), clock=lambda: clock[0])
    s = SlackStandIn(limits=limits).start()
    client = WebClient(token="xoxb-test", base_url=s.api_url)  # no retry handlers: sees the 429
    try:
        posted = client.chat_postMessage(channel="C1", text="status")
        for _ in range(20):  # the burst
            client.chat_update(channel="C1", ts=posted["ts"], text="edit")
        with pytest.raises(SlackApiError) as e:
            client.chat_update(channel="C1", ts=posted["ts"], text="one too many")
        assert e.value.response.status_code == 429
        assert e.value.response["error"] == "ratelimited"
        assert e.value.response.headers["retry-after"] in ("2", ["2"])  # 1.2 s to a token
        clock[0] += 1.3
        client.chat_update(channel="C1", ts=posted["ts"], text="after the wait")
        for _ in range(4):  # the channel's burst of 4 (refilled meanwhile)
            client.chat_postMessage(channel="C1", text="reply")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C1", text="a fifth in one second")
        client.chat_postMessage(channel="C2", text="another channel has its own")
        statuses = [c.status for c in s.calls]
        assert statuses.count(429) == 2
    finally:
        s.stop()


def test_an_update_that_changes_nothing_is_counted(slack: tuple[SlackStandIn, WebClient]) -> None:
    s, client = slack
    ts = client.chat_postMessage(channel="C1", text="a", blocks=[section("a")])["ts"]
    client.chat_update(channel="C1", ts=ts, text="a", blocks=[section("a")])
    client.chat_update(channel="C1", ts=ts, text="b", blocks=[section("b")])
    assert s.identical == 1
