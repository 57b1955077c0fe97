"""The console, driven through stdin as a person would type: request, approve, run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = """\
/change deploy service=demo ref=v2 -- ship the label fix
/as lead
/press Approve
y
/as alice
/press Mark done
y
/as nobody
/home
"""


def console(script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`chatops console ARGS`, typed into through stdin."""
    return subprocess.run(
        [sys.executable, "-m", "chatops", "console", *args],
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_a_full_request_approve_run_in_the_console(tmp_path: Path) -> None:
    out = console(SCRIPT, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "DEPLOY READY CODE: DEMO / PRODUCTION" in text
    assert "[1] Approve  [2] Reject" in text
    assert "You are now bob (lead)" in text
    assert "Approve run #1? [y/N]" in text
    assert "Run #1, Deploy ready code on demo / production" in text  # the confirmation names it
    assert "Approved by @bob" in text
    assert re.search(r"\[\d+\] Mark done", text)
    assert "✔ `pull` finished" in text and "✔ Run #1 succeeded" in text
    assert "Validation: 2 of 2 checks passed" in text
    assert "unknown user or role 'nobody'" in text
    assert "[home]" in text
    assert text.rstrip().endswith("bye")  # Ctrl-D (end of input) leaves cleanly
    app = tmp_path / "d" / "srv" / "demo"
    assert (app / "VERSION").read_text().strip() == "v2"  # it really ran on this machine


def test_the_requester_cannot_approve_in_the_console(tmp_path: Path) -> None:
    script = "/change deploy service=demo\n/press Approve\ny\n"
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "(only you) ⚠ four-eyes: you cannot approve your own request" in out.stdout


def test_the_console_works_with_a_real_config(tmp_path: Path) -> None:
    import yaml

    from tests.apps import make_app, service_config

    app = make_app(tmp_path / "app")
    cfg = service_config(
        app, "http://127.0.0.1:9/health", [{"name": "local", "transport": "local"}]
    )
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    script = "/as lead\n/status web\n/change deploy service=web ref=v2\n"
    out = console(
        script,
        "--config",
        str(tmp_path / "chatops.yml"),
        "--commands",
        str(ROOT / "commands"),
        "--database-url",
        f"sqlite:///{tmp_path / 'c.db'}",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "You are now U_LEAD (lead)" in out.stdout
    assert "DEPLOY READY CODE: WEB / PRODUCTION" in out.stdout
    assert "Health: unreachable" in out.stdout


def test_after_a_form_the_numbers_mean_the_buttons_shown_last(tmp_path: Path) -> None:
    """Plan X by command, plan Y by the form (which grows once it knows the process): bob's
    `1` is plan Y's Approve, the one on screen, and its confirmation names run #2."""
    script = (
        "/change deploy demo ref=v2 -- plan X\n/change\n4\n1\n\nmain\n\n\nplan Y via the form\n"
        "/as bob\n1\ny\n"
    )
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "Approve run #2? [y/N]" in out.stdout
    assert "Run #2, Deploy ready code on demo / production" in out.stdout
    assert "Run #2: running" in out.stdout and "Run #1: running" not in out.stdout


def test_forms_are_filled_field_by_field(tmp_path: Path) -> None:
    # /change opens the form: pick deploy (asked once), service 1, default environment,
    # ref v2, default install, no start time, the request text; then a bad pick is asked
    # again, and /cancel leaves the form
    script = "/change\n4\n1\n\nv2\n\n\nship it from the form\n/change\n42\n/cancel\n/who\n"
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert (
        "Process: [1] config-fix" in out.stdout
        and "ref (optional, Enter to skip) [main]" in out.stdout
    )
    assert "ship it from the form" in out.stdout and "ref=v2" in out.stdout
    assert "! pick a number from 1 to 10" in out.stdout  # ten processes
    assert out.stdout.count("Process: [1] config-fix") == 2  # once per form, never twice
    assert "Process: deploy" in out.stdout
    assert "/cancel leaves it" in out.stdout and "form closed, nothing submitted" in out.stdout
    assert "You are alice" in out.stdout
    assert "Traceback" not in out.stderr


def test_every_refusal_is_shown_privately_before_the_next_prompt(tmp_path: Path) -> None:
    script = (
        "/change deploy demo\n/press Approve\ny\n"  # alice: four-eyes
        "/as oncall\n/press Approve\ny\n"  # dave: not a lead (switching users loses nothing)
        "/change deploy nowhere\n"
        "/as lead\n/press Approve\ny\n"
    )
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    four_eyes = text.index("(only you) ⚠ four-eyes")
    not_lead = text.index("(only you) ⚠ only lead may approve deploy")
    nowhere = text.index("(only you) ⚠ 'nowhere' is not a service I know")
    approved = text.index("Approved by @bob")
    assert four_eyes < text.index("You are now dave") < not_lead < nowhere < approved
    assert text.index("dave> /change deploy nowhere") < nowhere < text.index("You are now bob")


def test_after_an_escalation_the_run_keeps_its_controls(tmp_path: Path) -> None:
    script = (
        "/as oncall\n/change debug demo -- orders time out\n"
        "/as lead\n/press Approve\ny\n"
        "/as oncall\n/press Escalate to Architect\n2\nno idea yet\n"
        "/buttons\n"
        "/as architect\n/press Take over (fix plan)\ny\n/cancel\n"
    )
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    after = text[text.index("escalates this to the Architect") :]
    assert re.search(r"\[\d+\] Take over \(fix plan\)\s+\[\d+\] Close with a reason", after)
    assert "no button" not in after
    assert "carol takes this over" in after.replace("@", "")
    assert "== Request a change ==" in after  # the fix plan's form


def test_a_take_over_ends_in_a_fix_plan_on_the_requesters_behalf(tmp_path: Path) -> None:
    """The Architect takes an on-call engineer's escalation over: a form closed unsubmitted
    loses nothing (the escalation stays open, its form opens again), a refused form keeps
    its answers and names the field to change, and the fix plan is a process the requester
    may request (hotfix: not the architect's own), requested on their behalf."""
    script = (
        "/as oncall\n/change debug demo -- orders time out\n"
        "/as lead\n/press Approve\ny\n"
        "/as oncall\n/press Escalate to Architect\n2\nno idea yet\n"
        "/as architect\n/press Take over (fix plan)\ny\n/cancel\n"
        "/press Write the fix plan\n7\n\n\nfix/orders leak\nthe orders queue leaks\n\n"
        "\n\n\nfix/orders-leak\n\n\n"
        "/buttons\n"
    )
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    text = out.stdout.replace("@", "")
    taken = text[text.index("carol takes this over") :]
    # the prompts it answered changed alike: told once, naming the message
    told = re.findall(r"\(updated ([^)]*)\) 🛠 carol takes this over", text)
    assert told == ["reply in run #1's thread"], told
    assert "form closed, nothing submitted" in taken
    assert "[1] Write the fix plan" in taken  # still open, the form a press away
    assert "requested on dave's behalf" in taken
    assert "! ref: ref='fix/orders leak' is not a git ref" in taken  # the field named
    assert "(the form is still open with your answers" in taken
    assert "Enter for hotfix" in taken  # its answers kept
    assert "only oncall, coder, lead may request" not in taken
    assert "carol planned the fix: run #2" in taken
    assert "Run #1 succeeded" in taken
    listed = taken[taken.rindex("carol> /buttons") :]
    assert re.search(r"plan of run #2: HOTFIX.*\n\s+\[\d+\] Approve", listed), listed


def test_every_button_slack_would_show_is_reachable_and_numbers_mean_what_was_shown(
    tmp_path: Path,
) -> None:
    """The App Home's Insights button (a section accessory) is listed and pressed; /buttons
    names each message as it is now, and a number presses the button it listed; a changed
    message is named, and a change made to several messages is told once."""
    script = (
        "/as lead\n/home\n/buttons\n1\n"
        "/as coder\n/change deploy demo ref=main -- one\n"
        "/as lead\n1\ny\n/buttons\n2\ny\n"
    )
    out = console(script, "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    home = text[text.index("bob> /buttons") :]
    assert re.search(r"\[home\] your App Home\n\s+\[1\] Insights", home), home[:400]
    assert "== Insights ==" in home and "/insights?t=" in home
    approved = text[text.index("Approve run #1? [y/N] y") :]
    assert "(updated plan of run #1) ✔ Approved by @bob" in approved
    listed = approved[approved.index("bob> /buttons") :]
    assert re.search(r"plan of run #1: DEPLOY READY CODE.*\n\s+\[1\] View run", listed)
    assert re.search(r"status of run #1: ↻ Run #1: running\n\s+\[2\] Cancel run", listed)
    assert "Cancel run #1?" in listed  # 2 pressed what /buttons listed as 2


def test_help_lists_every_command_the_readme_names(tmp_path: Path) -> None:
    out = console("/help\n", "--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    readme = (ROOT / "README.md").read_text()
    console_part = readme[readme.index("## The two commands") : readme.index("## What a plan")]
    named = set(re.findall(r"(?<![\w/.])(/[a-z]+)\b", console_part)) - {"/bin"}
    assert named, "the README names console commands"
    for command in sorted(named | {"/change", "/hotfix", "/logs", "/status", "@chatops"}):
        assert command in out.stdout, f"/help does not mention {command}"


def test_a_scheduled_start_starts_while_nobody_types(tmp_path: Path) -> None:
    """Approved to start in a few seconds: the console sweeps as serve does, and an empty
    line shows what the bot said meanwhile (the run started, waiting for the coder)."""
    from tests.factories import Each, sql
    from tests.faults import wait_for

    proc = subprocess.Popen(
        [sys.executable, "-m", "chatops", "console", "--dir", str(tmp_path / "d")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None
    # to start 12 s after it is asked: approved before then even on a machine so busy that
    # each line typed takes seconds (at +3 s the approval came after the start time)
    proc.stdin.write("/change deploy service=demo ref=v2 start_at=+12s\n/as lead\n1\ny\n")
    proc.stdin.flush()
    path = tmp_path / "d" / "chatops.db"

    def started() -> bool:
        if not path.exists():  # the console has not made it yet (opening it would)
            return False
        try:
            return [r.state.value for r in Each(sql(f"sqlite:///{path}"), "runs").list()] == [
                "running"
            ]
        except Exception:  # not migrated yet
            return False

    wait_for(started, timeout=60, what="the scheduled run started by the console's sweep")
    out, err = proc.communicate("\n", timeout=120)  # an empty line, then Ctrl-D
    assert proc.returncode == 0, err
    assert "Approved early: it starts at" in out and "Run #1: scheduled" in out
    after = out.split("Approved early", 1)[1]
    assert "Changes work locally" in after and re.search(r"\[\d+\] Mark done", after)
