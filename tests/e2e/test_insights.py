"""The team's delivery numbers where people look: the insights page (leads only, behind a
personal link, with its charts) and the App Home's four numbers with its Insights button."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatops.engine.domain.links import INSIGHTS, token_for
from chatops.engine.domain.run import RunState
from chatops.errors import PermissionDenied
from chatops.simulator.harness import ChatHarness
from tests.e2e.test_slack_forms import homes, open_home
from tests.history import SHIP
from tests.local_harness import fetch, local_harness


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    with local_harness(tmp_path, {"ship.yml": SHIP}) as h:
        yield h


def shipped(slack: ChatHarness) -> int:
    slack.command("/change", "ship web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")  # the person's step: waited on them
    slack.settle()
    run = slack.wired.queries.list_runs(limit=1)[0]
    assert run.state == RunState.SUCCEEDED, run.error
    return run.id


def home_click(user: str, view: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id")]
    return {
        "type": "block_actions",
        "team": {"id": "T0TEST"},
        "api_app_id": "A0TEST",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEST"},
        "container": {"type": "view", "view_id": "VHOME"},
        "view": {"id": "VHOME", "type": "home", "blocks": view["blocks"]},
        "trigger_id": f"trigger-home-{user}",
        "actions": [
            {
                "type": "button",
                "action_id": block["accessory"]["action_id"],
                "block_id": block.get("block_id", ""),
                "value": block["accessory"]["value"],
                "action_ts": "1.0",
            }
        ],
    }


def test_the_insights_page_shows_the_numbers_and_charts_to_leads_alone(
    slack: ChatHarness,
) -> None:
    run_id = shipped(slack)
    html = fetch(slack, slack.wired.pages.link(run_id, "U_LEAD"))[1]  # the run's page
    assert "keeps every rule of its process" in html  # the policy's verdict
    assert "rollback: <code>h1$ " in html and "echo unshipped" in html  # and the way back
    link = slack.wired.insights.link("U_LEAD")
    assert link.startswith("/insights?t=v1.0.")
    code, html, _ = fetch(slack, link)
    assert code == 200, html
    numbers = html.split('id="numbers"', 1)[1].split("</div></div>", 1)[0]
    assert "Deployment frequency<b>1</b>" in numbers and "Change failure rate<b>0% (0/1)" in numbers
    assert "Waiting on people" in numbers
    assert html.count("<svg") == 2 and "lead time p50" in html and "<script" not in html
    # a lead time of seconds is charted in seconds, never as "0.015 min"
    assert "p50 a week (s)" in html and not re.search(r"0\.0\d+ min", html)
    assert "<td>web</td><td>1</td>" in html  # by service
    with pytest.raises(PermissionDenied):
        slack.wired.insights.link("U_CODER")  # not a lead: no link
    forged = token_for(slack.settings.link_key(), INSIGHTS, "U_CODER", 4_000_000_000)
    code, html, _ = fetch(slack, f"/insights?t={forged}")
    assert code == 403 and "may see the team&#x27;s numbers" in html
    run_link = slack.wired.pages.link(1, "U_LEAD")  # a run's link opens no insights
    code, html, _ = fetch(slack, "/insights?" + run_link.split("?", 1)[1])
    assert code == 403 and "for run #1, not the insights page" in html
    code, body, _ = fetch(slack, "/insights", accept="application/json")
    assert code == 403 and json.loads(body)["status"] == 403 and "Traceback" not in body
    denied = [e for e in slack.wired.queries.recent_audit(50) if e.action == "denied.insights"]
    assert len(denied) >= 3  # every refusal is on record
    metrics = fetch(slack, "/metrics", accept="text/plain")[1]
    assert 'chatops_time_waiting_on_people_seconds_count{process="ship"}' in metrics


def test_the_app_home_shows_the_four_numbers_and_a_button_to_the_page(
    slack: ChatHarness,
) -> None:
    shipped(slack)
    open_home(slack, "U_LEAD")
    view = homes(slack, "U_LEAD")[-1]
    text = json.dumps(view)
    assert "The team, last 30 days" in text and "Deployment frequency: 1 (" in text
    assert "Change failure rate: 0% (0/1)" in text
    assert slack.send(home_click("U_LEAD", view))[0] == 200
    slack.settle()
    said = json.dumps(slack.opened_views()[-1])
    assert "The team's delivery numbers" in said and "/insights?t=" in said
    url = said.split("<", 1)[1].split("|", 1)[0]
    assert fetch(slack, url.removeprefix(slack.url))[0] == 200
    open_home(slack, "U_CODER")
    assert slack.send(home_click("U_CODER", homes(slack, "U_CODER")[-1]))[0] == 200
    slack.settle()
    refused = json.dumps(slack.opened_views()[-1])
    assert "may see the team's numbers" in refused and "/insights?t=" not in refused
