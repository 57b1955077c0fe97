"""Slack failing under a run: a process that died after posting, Slack answering 5xx or
unreachable mid-run, hostile output. The thread catches up in place, once, and tells the
truth (split from test_slack_flow.py so these slow tests run on a worker of their own)."""

from __future__ import annotations

from typing import Any

from chatops.engine.domain.run import RunState
from chatops.simulator.harness import ChatHarness
from tests.apps import App
from tests.e2e.test_slack_flow import Factory, app, deploy_v2, slack, slack_with
from tests.faults import audit_verify, healthz, manager, wait_for
from tests.servers import Sshd

__all__ = ["app", "slack", "slack_with"]


def test_events_handled_again_after_a_crash_never_post_twice(slack: ChatHarness) -> None:
    """A process that died after posting, before recording how far it got: the next one
    handles those events again, and Slack sees no second message."""
    deploy_v2(slack)
    w = slack.wired
    assert w.queries.get_run(1).state == RunState.SUCCEEDED
    posts = len(slack.standin.calls_to("chat.postMessage"))
    uploads = len(slack.standin.calls_to("files.completeUploadExternal"))
    for feed in w.feeds:
        feed.stop()
    with w.engine.begin() as c:  # as if nothing had been recorded as delivered
        c.exec_driver_sql("UPDATE event_consumers SET position = 0")
    for feed in w.feeds:  # the next process takes over
        feed.start()
    slack.settle()
    assert all(f.position == w.events.head() for f in w.feeds)  # everything handled again
    again = slack.standin.calls_to("chat.postMessage")[posts:]
    assert [c.args.get("text", "")[:60] for c in again] == []
    assert len(slack.standin.calls_to("files.completeUploadExternal")) == uploads
    [plan] = slack.plans()
    assert [m.all_text() for m in slack.thread(plan)].count(slack.thread(plan)[-1].all_text()) == 1


def test_a_plan_is_posted_once_slack_answers_again(slack: ChatHarness) -> None:
    """Slack failing (5xx, more than the client's own retries): the request's task cannot
    post the plan at once, the event stream posts it, once, when Slack answers again (after
    its own first try fails too); nobody sees an error."""
    slack.standin.fail("chat.postMessage", status=500, times=6)  # 3 tries each, twice
    slack.command("/change", "deploy service=web", user="U_CODER")
    slack.settle()
    [plan] = slack.plans()
    assert "Deploy ready code" in plan.all_text()
    assert slack.ephemerals("U_CODER") == []
    failed = [c for c in slack.standin.calls_to("chat.postMessage") if c.status != 200]
    assert len(failed) == 6
    thread = next(f for f in slack.wired.feeds if f.name == "slack-thread")
    assert thread.failures >= 1  # the feed tried again later; the request never saw it


def test_hostile_output_is_posted_and_uploaded_as_a_terminal_shows_it(
    slack_with: Factory, sshd: Sshd
) -> None:
    """A 3 MB line with no newline, invalid UTF-8, NULs, colours and a \\r progress bar."""
    sshd.tool(
        "noisy",
        "printf 'start\\000ed \\033[31mred\\033[0m \\377\\376 bytes\\n'\n"
        "printf '10%%\\r50%%\\r100%% done\\n'\n"
        "head -c 3000000 /dev/zero | tr '\\000' x\n"
        "printf 'END-OF-LONG-LINE'\n",
    )
    slack = slack_with(service={"install": "noisy"})
    deploy_v2(slack)
    [plan] = slack.plans()
    thread = slack.thread(plan)
    install = next(m for m in thread if "`install` finished" in m.all_text())
    inline = install.all_text()
    assert "END-OF-LONG-LINE" in inline  # the end of the long line, not its start
    assert "\x00" not in inline and "\x1b" not in inline
    [upload] = [m for m in thread if m.files]
    content = slack.standin.files[upload.files[0]["id"]]["content"].decode()
    assert "\x00" not in content and "\x1b" not in content and "\r" not in content
    lines = content.split("\n")
    assert lines[0] == "started red \ufffd\ufffd bytes"
    assert lines[1] == "100% done"  # the progress bar's last state
    assert lines[2] == "x" * 3_000_000 + "END-OF-LONG-LINE"
    assert slack.wired.queries.get_run(1).state == RunState.SUCCEEDED


def slow_restart(sshd: Sshd) -> dict[str, Any]:
    """A restart that waits for the test's word (a file), so a fault can come mid-step."""
    sshd.tool(
        "slowrestart",
        "for i in $(seq 1 600); do [ -f .chatops/go ] && break; sleep 0.1; done\n"
        "echo running $(cat VERSION) > .chatops/state\n",
    )
    return {"manager": manager("slowrestart")}


def into_restart(slack: ChatHarness) -> None:
    """Asked, approved, the manual step done: the run is inside `restart`, which waits."""
    slack.command("/change", "deploy service=web ref=v2", user="U_CODER")
    slack.settle()
    slack.click("chatops.approve", user="U_LEAD")
    slack.settle()
    slack.click("chatops.done", user="U_CODER")
    [plan] = slack.plans()
    wait_for(lambda: any("`restart` started" in m.all_text() for m in slack.thread(plan)))


def one_each(slack: ChatHarness) -> str:
    """The thread's text, after checking that nothing in it was said twice."""
    [plan] = slack.plans()
    thread = slack.thread(plan)
    texts = [m.all_text() for m in thread]
    for step in ("snapshot", "pull", "install", "restart", "logs", "health"):
        finished = [t for t in texts if f"`{step}` finished" in t]
        assert len(finished) == 1, (step, texts)
        assert not [t for t in texts if f"`{step}` started" in t], texts  # updated in place
    assert sum("Run #1 succeeded" in t for t in texts) == 1
    return "\n".join(texts)


def test_slack_unreachable_mid_run_the_thread_catches_up_in_place_once(
    slack_with: Factory, sshd: Sshd, app: App
) -> None:
    slack = slack_with(service=slow_restart(sshd))
    into_restart(slack)
    slack.standin.stop()  # connections refused: longer than the client's own retries
    (app.app_dir / ".chatops").mkdir(exist_ok=True)
    (app.app_dir / ".chatops" / "go").touch()
    run = wait_for(lambda: (r := slack.wired.queries.get_run(1)).state.is_terminal and r)
    assert run.state == RunState.SUCCEEDED
    # the lag is shown while Slack is away: the thread's feed, or the updates it waits on
    stalled = wait_for(
        lambda: (s := healthz(slack.url)[1].get("stalled")) and max(s.values()) >= 1 and s
    )
    assert set(stalled) <= {"slack-thread", "slack-updates"}
    import time

    time.sleep(8)
    slack.standin.start()  # back on the same port
    slack.settle(timeout=120)
    one_each(slack)
    wait_for(lambda: "stalled" not in healthz(slack.url)[1])  # the next snapshot (<= 1 s)
    assert app.state() == "running v2"  # the host's own record
    audit_verify(slack.settings.config, slack.settings.database_url)


def test_slack_answering_500_for_a_while_loses_and_doubles_nothing(
    slack_with: Factory, sshd: Sshd, app: App
) -> None:
    slack = slack_with(service=slow_restart(sshd))
    into_restart(slack)
    for method in ("chat.update", "chat.postMessage"):
        slack.standin.fail(method, status=500, times=7)  # past the client's 2 retries, twice
    (app.app_dir / ".chatops").mkdir(exist_ok=True)
    (app.app_dir / ".chatops" / "go").touch()
    wait_for(lambda: slack.wired.queries.get_run(1).state.is_terminal)
    slack.settle(timeout=180)
    assert slack.wired.queries.get_run(1).state == RunState.SUCCEEDED
    one_each(slack)
    failed = [c for c in slack.standin.calls if c.status == 500]
    assert len(failed) == 14  # every fault was met, and the thread is still true
    assert app.state() == "running v2"
    audit_verify(slack.settings.config, slack.settings.database_url)
