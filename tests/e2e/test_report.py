"""`chatops report`: the team's delivery numbers, from the terminal."""

from __future__ import annotations

import json

from tests.cli_rig import chatops


def test_the_report_counts_a_run_from_the_terminal_in_json_and_text(env: dict[str, str]) -> None:
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
    assert "run #1:" in out.stdout, out.stderr  # the health check answers nothing: it fails
    got = json.loads(chatops(env, "report", "--json").stdout)
    assert set(got) >= {
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "time_to_restore",
        "time_to_approve",
        "time_waiting_on_people",
    }
    assert got["change_failure_rate"]["total"] == 1 and got["time_to_approve"]["n"] == 1
    assert got["deployment_frequency"]["count"] == 0  # the one deploy did not succeed
    assert set(got["by_service"]) == {"web"} and set(got["by_requester_kind"]) == {"person"}
    text = chatops(env, "report", "--since", "7d").stdout
    assert text.startswith("delivery over the last 7d")
    lines = text.splitlines()
    header = "deploys,per day,lead p50,failures,restore p50,approve p50,approve p90,people p50"
    assert all(c in lines[1] for c in header.split(",")), lines[1]  # each column named
    assert lines[2].startswith("all") and "100% (1/1)" in lines[2]
    # each group titled, each name whole (never "process migrat"), no "1 deploys"
    assert "by process" in lines and any(x.startswith("  deploy ") for x in lines), text
    assert "by kind of requester" in lines and any(x.startswith("  person ") for x in lines)
    assert "deploys (" not in text
    assert json.loads(chatops(env, "report", "--json", "--service", "api").stdout)["lead_time"] == {
        "n": 0,
        "p50_s": None,
        "p90_s": None,
    }
    bad = chatops(env, "report", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_the_terminal_prints_a_leads_link_to_the_insights_page(env: dict[str, str]) -> None:
    env = {
        **env,
        "CHATOPS_LINK_SECRET": "a-secret-for-links-in-this-test",
        "CHATOPS_PUBLIC_URL": "https://chatops.example.test",
    }
    out = chatops(env, "report", "--link", "--as", "U_LEAD")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("https://chatops.example.test/insights?t=v1.0.")
    refused = chatops(env, "report", "--link", "--as", "U_CODER")
    assert refused.returncode != 0 and "may see the team's numbers" in refused.stderr
