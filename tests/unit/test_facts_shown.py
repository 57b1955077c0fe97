"""What approving a plan approves is shown with it: each host's facts as read when the plan
was made, or that they are unknown (never left out)."""

from __future__ import annotations

from chatops.cli.commands.render import plan_text
from chatops.engine.planning.config import Config
from chatops.engine.planning.drift import facts_said
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.runbook import Runbook
from chatops.slack.views.plan_message import plan_blocks
from tests.factories import plan_for, run_of

REV = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def test_the_facts_are_said_a_line_a_host() -> None:
    facts = {
        "prod-1": {"revision": REV, "service": "online", "host_key": "SHA256:abcdef"},
        "prod-2": {"revision": "unreadable (unreachable: connection refused)"},
    }
    assert facts_said(facts) == [
        "prod-1 at a1b2c3d4e5f6, service online, host key SHA256:abcdef",
        "prod-2: facts unknown (revision unreadable (unreachable: connection refused))",
    ]


def test_the_plan_shows_them_in_slack_and_the_terminal_and_hashes_them(
    config: Config, runbooks: dict[str, Runbook]
) -> None:
    plan = plan_for(runbooks, config)
    shown = plan.model_copy(update={"facts": {"prod-1": {"revision": REV, "service": "online"}}})
    assert shown.sha256 != plan.sha256  # approving it approves them
    text = str(plan_blocks(shown, Verdict(()), run_of()))
    assert "Hosts as shown:* prod-1 at a1b2c3d4e5f6, service online" in text
    assert "hosts as shown: prod-1 at a1b2c3d4e5f6, service online" in plan_text(shown, Verdict(()))
    down = plan.model_copy(update={"facts": {"prod-1": {"revision": "unreadable (timeout)"}}})
    assert ":warning: *Facts unknown:* prod-1: facts unknown" in str(
        plan_blocks(down, Verdict(()), run_of())
    )
