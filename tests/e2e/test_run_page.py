"""A run's web page behind personal links, served beside /healthz by the app Slack talks to:
what it shows, that every text on it is inert, and whom it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from chatops.adapters.clock import ManualClock
from chatops.engine.domain.links import token_for
from chatops.engine.domain.run import RunState
from chatops.errors import PermissionDenied
from chatops.simulator.harness import ChatHarness
from tests.apps import service_runbook
from tests.cli_rig import chatops
from tests.conftest import ROOT
from tests.factories import NOW
from tests.local_harness import fetch, local_harness

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


SHOUT = service_runbook(
    "Shout",
    "prints what a hostile step would",
    f"""  - id: shout
    kind: ssh
    title: Print markup
    run: printf '%s\\n' {json.dumps(HOSTILE)}
""",
)
COLOURS = service_runbook(
    "Colours",
    "prints a long coloured output",
    """  - id: colours
    kind: ssh
    title: Print 2500 coloured lines
    run: for i in $(seq 1 2500); do printf '\\033[31mred %s\\033[0m plain\\n' "$i"; done
""",
)


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[ChatHarness]:
    books = {
        "deploy.yml": (ROOT / "commands" / "deploy.yml").read_text(),
        "shout.yml": SHOUT,
        "colours.yml": COLOURS,
    }
    with local_harness(tmp_path, books, ManualClock(NOW)) as h:
        yield h


def ran(slack: ChatHarness, runbook: str = "shout") -> int:
    slack.command("/change", f"{runbook} web", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD", message=slack.plans()[-1])
    slack.settle()
    run = slack.wired.queries.list_runs(limit=1)[0]
    assert run.state == RunState.SUCCEEDED, run.error
    return run.id


def test_the_page_shows_the_plan_approvals_steps_and_audit_with_every_text_inert(
    slack: ChatHarness,
) -> None:
    run_id = ran(slack)
    link = slack.wired.pages.link(run_id, "U_LEAD")
    status, html, headers = fetch(slack, link)
    assert status == 200, html
    assert f"Run #{run_id}" in html and "succeeded" in html
    assert "U_CODER" in html and "U_LEAD" in html  # who asked, who approved
    assert 'id="time-to-approve">Approved 0 s after it was asked' in html  # a fake clock
    assert slack.wired.queries.get_run(run_id).plan_hash in html  # the plan as approved
    assert "plan.approved" in html and "run.succeeded" in html  # its audit rows
    assert "The whole trail: intact" in html  # and the chain's verdict
    assert "<script>" not in html and "&lt;script&gt;" in html  # the step's output, as text
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    csp = headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert headers.get("referrer-policy") == "no-referrer"
    [step] = [s for s in slack.wired.queries.steps(run_id) if s.step_id == "shout" and s.host]
    out = link.replace(f"/runs/{run_id}?", f"/runs/{run_id}/output/{step.id}?")
    code, html, got = fetch(slack, out)  # the whole output, as a page: inert too
    assert code == 200 and "&lt;script&gt;" in html and "<script>" not in html
    assert "form-action 'self'" in got["content-security-policy"]  # its search form
    download = out.replace(f"/output/{step.id}?", f"/output/{step.id}/download?")
    code, text, got = fetch(slack, download)
    assert code == 200 and HOSTILE in text and got["content-type"].startswith("text/plain")
    assert got["content-disposition"].startswith("attachment;")


def test_links_that_are_changed_expired_or_for_someone_without_the_role_are_refused(
    slack: ChatHarness,
) -> None:
    run_id = ran(slack)
    link = slack.wired.pages.link(run_id, "U_LEAD")
    assert fetch(slack, link)[0] == 200
    changed = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    code, html, _ = fetch(slack, changed)
    assert code == 403 and "changed" in html and "Traceback" not in html
    assert fetch(slack, f"/runs/{run_id}")[0] == 403  # no link at all
    with pytest.raises(PermissionDenied):
        slack.wired.pages.link(run_id, "U_NOBODY")  # no role that reads logs: no link
    key = slack.settings.link_key()
    forged = token_for(key, run_id, "U_NOBODY", int(NOW.timestamp()) + 60)
    code, html, _ = fetch(slack, f"/runs/{run_id}?t={forged}")
    assert code == 403 and "may see" in html  # signed, but the user it names may not
    assert isinstance(slack.wired.clock, ManualClock)
    slack.wired.clock.advance(timedelta(hours=1, seconds=1))
    code, html, _ = fetch(slack, link)
    assert code == 403 and "expired" in html
    denied = [e for e in slack.wired.queries.audit_for_run(run_id) if e.action == "denied.view"]
    assert len(denied) >= 4  # every refusal is on record


def test_an_unknown_run_is_404_in_html_and_json(slack: ChatHarness) -> None:
    for path in (
        "/runs/999?t=x",
        "/runs/abc?t=x",
        "/runs/1/output/5?t=x",
        "/runs/999/events?t=x",
        "/runs/1/output/x%3Cscript%3E/download?t=x",
        "/runs/" + "9" * 40 + "?t=x",
    ):
        code, html, _ = fetch(slack, path)
        assert code == 404 and "<html" in html and "Traceback" not in html
        code, body, _ = fetch(slack, path, accept="application/json")
        assert code == 404 and json.loads(body)["status"] == 404


def test_the_terminal_prints_the_same_personal_link(env: dict[str, str]) -> None:
    env = {
        **env,
        "CHATOPS_LINK_SECRET": "a-secret-for-links-in-this-test",
        "CHATOPS_PUBLIC_URL": "https://chatops.example.test/",
    }
    out = chatops(
        env,
        "run",
        "deploy",
        "service=web",
        "--as",
        "U_CODER",
        "--here",
        "--approve-as",
        "U_LEAD",
        "--manual-done",
    )
    assert "run #1:" in out.stdout, out.stderr  # a run, however it ended (no health here)
    out = chatops(env, "show", "1", "--link", "--as", "U_LEAD")
    assert out.returncode == 0, out.stderr
    url = out.stdout.splitlines()[0]
    assert url.startswith("https://chatops.example.test/runs/1?t=v1.1.")
    assert "for U_LEAD alone, valid 1 h" in out.stdout
    refused = chatops(env, "show", "1", "--link", "--as", "U_ARCH")  # no role reading logs
    assert refused.returncode == 3 and "may see a run's page" in refused.stderr
    unknown = chatops(env, "show", "1", "--link", "--as", "U_NOBODY")
    assert unknown.returncode == 2 and "unknown user 'U_NOBODY'" in unknown.stderr
    assert "Traceback" not in refused.stderr
    usage = chatops(env, "show", "1", "--link")
    assert usage.returncode == 2 and "--as USER" in usage.stderr


def test_view_run_answers_the_clicker_alone_with_a_link_made_for_them(
    slack: ChatHarness,
) -> None:
    run_id = ran(slack)
    [plan] = slack.plans()
    status = next(m for m in slack.thread(plan) if m.all_text().startswith(f"Run #{run_id}"))
    for message in (plan, status):  # the plan message and the thread's status carry it
        assert "chatops.view" in [b["action_id"] for b in message.buttons()]
        assert "chatops.view" not in [b["action_id"] for b in message.controls()]
    slack.click("chatops.view", user="U_LEAD", message=status)
    slack.settle()
    [said] = [t for t in slack.ephemerals("U_LEAD") if "View run" in t]
    assert "for you alone" in said
    url = said.split("<", 1)[1].split("|", 1)[0]
    assert url.startswith(slack.url + f"/runs/{run_id}?t=")
    assert fetch(slack, url.removeprefix(slack.url))[0] == 200
    assert not any("/runs/" in m.all_text() for m in slack.standin.messages)  # never public
    slack.click("chatops.view", user="U_NOBODY", message=plan)
    slack.settle()
    assert any("may see a run's page" in t for t in slack.ephemerals("U_NOBODY"))
    assert not any("/runs/" in t for t in slack.ephemerals("U_NOBODY"))


def test_a_long_coloured_output_is_paged_searched_shown_as_text_and_downloaded(
    slack: ChatHarness,
) -> None:
    run_id = ran(slack, "colours")
    link = slack.wired.pages.link(run_id, "U_LEAD")
    [step] = [s for s in slack.wired.queries.steps(run_id) if s.host]
    out = link.replace(f"/runs/{run_id}?", f"/runs/{run_id}/output/{step.id}?")
    code, html, _ = fetch(slack, out)
    assert code == 200 and "lines 1 to 1000 of 2500" in html and "page 1 of 3" in html
    assert '<span class="f1">red 1</span> plain' in html  # its colours, as classes
    assert 'id="L1000"' in html and 'id="L1001"' not in html  # a page at a time
    html = fetch(slack, out + "&page=3")[1]
    assert 'id="L2500"' in html and 'id="L1"' not in html and "lines 2001 to 2500" in html
    html = fetch(slack, out + "&view=plain")[1]
    assert "red 1 plain" in html and 'class="f1"' not in html  # stripped
    html = fetch(slack, out + "&q=RED+2499")[1]
    assert "1 line(s) with" in html and "page=3#L2499" in html  # found, linked in context
    assert '<mark class="hit">red 2499</mark>' in html
    assert "No line has" in fetch(slack, out + "&q=%3Cscript%3E")[1]
    assert "the output has 2500" in fetch(slack, out + "&page=9")[1]
    raw = fetch(slack, out.replace("?", "/download?", 1) + "&raw=1")[1]
    assert raw.count("\x1b[31m") == 2500  # as it came
    text = fetch(slack, out.replace("?", "/download?", 1))[1]
    assert "\x1b" not in text and text.splitlines()[-1] == "red 2500 plain"


def test_a_finished_runs_events_say_its_version_and_end(slack: ChatHarness) -> None:
    run_id = ran(slack)
    link = slack.wired.pages.link(run_id, "U_LEAD")
    html = fetch(slack, link)[1]
    version = html.split('data-version="', 1)[1].split('"', 1)[0]
    events = link.replace(f"/runs/{run_id}?", f"/runs/{run_id}/events?")
    code, body, headers = fetch(slack, events, accept="text/event-stream")
    assert code == 200 and headers["content-type"].startswith("text/event-stream")
    assert f"data: {version}" in body and body.rstrip().endswith("event: end\ndata: ended")
    assert fetch(slack, events[:-3] + "xyz")[0] == 403  # the same link rules


def test_any_query_on_a_page_gets_a_page_or_a_refusal_never_a_crash(slack: ChatHarness) -> None:
    run_id = ran(slack)
    link = slack.wired.pages.link(run_id, "U_LEAD")
    [step] = [s for s in slack.wired.queries.steps(run_id) if s.host]
    out = link.replace(f"/runs/{run_id}?", f"/runs/{run_id}/output/{step.id}?")
    for junk in ("&page=-3", "&page=1e9", "&view=%3Cscript%3E", "&q=" + "%00" * 3000, "&raw=2"):
        for path in (link + junk, out + junk, "/insights?t=x" + junk):
            code, html, _ = fetch(slack, path)
            assert code in (200, 403) and "Traceback" not in html, (path, code)
            assert "<script>" not in html.split("<body>", 1)[-1].split("<script>(function")[0]
    code, html, _ = fetch(slack, "/insights?t=x&service=%3Cb%3E")
    assert code == 404 and "&lt;b&gt;" in html
