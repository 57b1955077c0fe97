"""A scheduled start, where people read it: the plan message (what is approved), the run's
status in its thread, the App Home, the run's page and the terminal."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chatops.cli.commands.render import plan_text
from chatops.engine.domain.run import RunState, RunView
from chatops.engine.planning.config import Config
from chatops.engine.planning.plan import Plan
from chatops.engine.planning.policy import Verdict
from chatops.engine.planning.runbook import Runbook
from chatops.engine.runs.overview import Overview
from chatops.engine.runs.pages import RunPage
from chatops.slack.home import home_view
from chatops.slack.views import blocks as bk
from chatops.slack.views.plan_message import plan_blocks
from chatops.web.run_html import run_page
from tests.factories import NOW, plan_for


def scheduled(runbooks: dict[str, Runbook], config: Config) -> tuple[RunView, Plan]:
    plan = plan_for(runbooks, config, "deploy", service="eckwms-global", start_at="+2h")
    assert plan.start is not None
    run = RunView(
        7, plan.task_id, plan.sha256, "deploy", "deploy", plan.service, plan.environment,
        RunState.QUEUED, "U_CODER", NOW, NOW, not_before=plan.start.earliest,
    )  # fmt: skip
    return run, plan


def test_everyone_reads_when_it_starts(runbooks: dict[str, Runbook], config: Config) -> None:
    run, plan = scheduled(runbooks, config)
    text = str(plan_blocks(plan, Verdict(()), run))
    assert ":alarm_clock: *Starts* at Mon 02 Mar 12:30 UTC" in text
    status = str(bk.status_blocks(run, plan, [], "", NOW))
    assert "*Run #7: scheduled*" in status and "Starts at 12:30 UTC (in 2.0 h)" in status
    assert "chatops.cancel" in status  # cancellable until then
    assert bk.status_word(run, plan, NOW) == "scheduled"
    due = NOW + timedelta(hours=2, seconds=1)
    assert bk.status_word(run, plan, due) == "queued"
    started = replace(run, state=RunState.RUNNING)
    assert "scheduled" not in str(bk.status_blocks(started, plan, [], "", due))

    home = str(home_view(Overview("U_CODER", frozenset({"coder"}), active=[run], now=NOW)))
    assert "#7 deploy eckwms-global/production: scheduled, starts <!date^" in home
    later = str(home_view(Overview("U_CODER", frozenset({"coder"}), active=[run], now=due)))
    assert "scheduled" not in later

    page = run_page(RunPage(run, plan, [], [], [], "U_CODER"), "token")
    assert '<p id="start">Starts at Mon 02 Mar 12:30 UTC.</p>' in page
    assert "starts at Mon 02 Mar 12:30 UTC" in plan_text(plan, Verdict(()))


def test_a_refused_config_is_shown_first_on_the_home() -> None:
    o = Overview("U_LEAD", frozenset({"lead"}), now=NOW)
    said = ":warning: The config files were changed and refused: chatops.yml: line 3"
    blocks = home_view(o, None, said)["blocks"]
    assert said.split(":", 2)[2].strip() in str(blocks[3])  # right under the header
    assert "refused" not in str(home_view(o)["blocks"])
