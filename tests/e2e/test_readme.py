"""The README's terminal walkthrough works when pasted, in order, into a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def walkthrough() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Using it from the terminal") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_every_line_of_the_terminal_walkthrough_works(tmp_path: Path) -> None:
    lines = walkthrough()
    assert lines[0].startswith("source .venv/bin/activate")
    for name in ("commands", "examples"):  # a clone's folders, as the README's lines see them
        (tmp_path / name).symlink_to(ROOT / name)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHATOPS_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    said = []
    try:
        for line in lines[1:]:
            out = subprocess.run(
                ["bash", "-c", line],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            said.append((line, out.stdout))
            assert out.returncode == 0, f"{line}\n{out.stdout}\n{out.stderr}"
    finally:
        subprocess.run(["bash", "-c", "chatops demo --stop"], cwd=tmp_path, env=env, check=False)
    text = dict(said)
    run = next(v for k, v in text.items() if k.startswith("chatops run deploy"))
    assert "run #1: succeeded" in run
    tour = next(v for k, v in text.items() if k.startswith("chatops demo  "))
    assert re.search(r"^2 +succeeded \(hotfix\) +hotfix", tour, re.M)  # the same runs
    assert re.search(r"^5 +succeeded +migration", tour, re.M)
    report = next(v for k, v in text.items() if k.startswith("chatops report"))
    assert report.startswith("delivery over the last 30d")
    assert re.search(r"^all +1 ", report, re.M)  # one deploy, in its column
    postmortem = next(v for k, v in text.items() if "postmortem" in k)
    assert "- Run: #2 on demo" in postmortem and "## Timeline" in postmortem


def test_the_shipped_example_config_is_valid() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatops",
            "check",
            "--config",
            str(ROOT / "examples" / "chatops.yml"),
            "--commands",
            str(ROOT / "commands"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "config" in out.stdout and "ok (1 services, 2 hosts)" in out.stdout


def test_trying_serve_without_slack_works_as_the_readme_says(tmp_path: Path) -> None:
    """The README's "Trying serve without Slack", pasted into one shell after `chatops
    init`: the stand-in starts, serve runs the run, and both links open (HTTP 200) before
    the last line stops serve and the stand-in."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Trying serve without Slack") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert lines[-1].startswith("kill %1")
    (tmp_path / "commands").symlink_to(ROOT / "commands")
    env = {
        **{k: v for k, v in os.environ.items() if not (k.startswith(("CHATOPS_", "SLACK_")))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run(["chatops", "init"], cwd=tmp_path, env=env, check=True, timeout=120)
    links = tmp_path / "links.txt"
    # the README's lines in one shell, the links' output kept; before the last line (which
    # stops serve), the run's end awaited and both links opened
    body = "set -e\n" + "\n".join(
        f"{line.split('  #')[0].rstrip()} | tee -a {links}" if "--link" in line else line
        for line in lines[:-1]
    )
    body += f"""
for i in $(seq 1 240); do chatops runs | grep -q succeeded && break; sleep 0.5; done
chatops runs
for url in $(grep '^http' {links}); do
  python -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).status)' "$url"
done
{lines[-1]}
"""
    try:
        out = subprocess.run(
            ["bash", "-c", body],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}\n" + (
            (tmp_path / "serve.log").read_text() if (tmp_path / "serve.log").exists() else ""
        )
        said = out.stdout
        assert "Slack stand-in: http://127.0.0.1:3001/api/" in said
        opened = [x for x in said.splitlines() if x.strip() == "200"]
        assert len(opened) == 2, said  # the run's page and the insights page
        assert "stopped the stand-in" in said
        assert re.search(r"^1 +succeeded +deploy", said, re.M), said  # serve ran it
        log = (tmp_path / ".chatops" / "standin.log").read_text()
        assert "auth.test" in log  # serve asked the stand-in who it is, as it asks Slack
    finally:
        subprocess.run(["chatops", "standin", "--stop"], cwd=tmp_path, env=env, timeout=60)
        subprocess.run(["chatops", "demo", "--stop"], cwd=tmp_path, env=env, timeout=60)
