"""The web pages in a real browser: Debian's chromium, headless, driven by its chromedriver
(Selenium; no browser is downloaded), against `chatops serve --http` in its own process,
with a real run on the test sshd asked and approved over signed HTTP as Slack sends it, in
a store holding twelve weeks of the team's changes (tests/history.py).

The run's page renders the plan, the steps and their output, and updates live while a step
runs (no reload: a mark the test leaves in the page survives); a step's output containing
`<script>` is shown as text (and runs nothing); a link for someone without the role, or
expired, is refused; the insights page draws its charts. Screenshots of both pages are
taken; with CHATOPS_SCREENSHOTS=<dir> they are kept there (docs/screenshots is that dir)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.adapters.config_files import load_config, load_runbooks
from chatops.engine.domain.links import token_for
from chatops.settings import Settings
from chatops.simulator.harness import BOT_TOKEN, SIGNING_SECRET, RemoteSlack
from chatops.simulator.standin import SlackStandIn
from chatops.store.db import upgrade
from tests.apps import ROOMY, make_app, service_config, service_runbook
from tests.conftest import ROOT, need
from tests.faults import wait_for
from tests.history import PATCH, SHIP, seed_history
from tests.servers import Sshd, free_port, wait_port

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
LINK_SECRET = "a-secret-for-the-browser-test-links"
HOSTILE = "<script>window.chatopsPwned=1</script><img src=x onerror=window.chatopsPwned=2>"
WAIT = 30.0


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        need("Chromium and ChromeDriver", "apt-get install chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need("Selenium", "pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new",
        "--no-sandbox",  # as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # nothing but loopback: no calls home
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager looks nothing up
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(tmp_path: Path, sshd: Sshd) -> Iterator[tuple[RemoteSlack, dict[str, str], Path]]:
    release = tmp_path / "release"
    ticker = sshd.tool(
        f"ticker-{os.getpid()}",
        f'i=0\nwhile [ ! -f {release} ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done\n'
        "printf '\\033[32mgreen\\033[0m done\\n'\n",
    )
    app = make_app(tmp_path / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [sshd.host("box-1")])
    services = cfg["services"]
    assert isinstance(services, dict)
    services["api"] = dict(services["web"])
    (tmp_path / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = tmp_path / "commands"
    commands.mkdir()
    (commands / "ship.yml").write_text(SHIP)
    (commands / "patch.yml").write_text(PATCH)
    (commands / "watch.yml").write_text(
        service_runbook(
            "Watch",
            "ticks until released, then prints markup",
            f"""  - id: tick
    kind: ssh
    title: Tick until released
    run: {ticker.name}
    timeout: 120
  - id: shout
    kind: ssh
    title: Print markup
    run: printf '%s\\n' '{HOSTILE}'
""",
        )
    )
    url = f"sqlite:///{tmp_path / 'chatops.db'}"
    upgrade(url)
    config, runbooks = load_config(tmp_path / "chatops.yml"), load_runbooks(commands)
    assert seed_history(url, config, runbooks, ["web", "api"]) > 20  # the team's 12 weeks
    standin = SlackStandIn().start()
    port = free_port()
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(tmp_path / "chatops.yml"),
        CHATOPS_COMMANDS=str(commands),
        CHATOPS_DATABASE_URL=url,
        CHATOPS_SLACK_API_URL=standin.api_url,
        CHATOPS_LINK_SECRET=LINK_SECRET,
        CHATOPS_SLACK_LIMITS=ROOMY,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PATH=f"{sshd.bin}:{os.environ['PATH']}",
    )
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("CHATOPS_PUBLIC_URL", None)  # the links start where serve listens
    log = open(tmp_path / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_port(port, timeout=60)
        yield RemoteSlack(f"http://127.0.0.1:{port}", standin), env, release
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        standin.stop()


def keep(driver: Any, tmp_path: Path, name: str) -> Path:
    """A screenshot of the page, kept in CHATOPS_SCREENSHOTS too when it is set."""
    shot = tmp_path / name
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000  # a page, not a blank
    folder = os.environ.get("CHATOPS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / name)
    return shot


def text_of(driver: Any, css: str) -> str:
    """The text of the first element `css` finds, read in one step in the page (the live
    part may be swapped between finding an element and reading it)."""
    script = "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
    return str(driver.execute_script(script, css))


def test_the_run_page_in_a_browser_is_live_inert_and_personal(
    browser: Any, served: tuple[RemoteSlack, dict[str, str], Path], tmp_path: Path
) -> None:
    slack, env, release = served
    slack.command("/change", "watch web", user="U_CODER")
    wait_for(lambda: next(iter(slack.plans()), None), WAIT, "the plan in Slack")
    slack.click("chatops.approve", user="U_LEAD")
    status = wait_for(
        lambda: next((m for m in slack.standin.messages if m.all_text().startswith("Run #")), None),
        WAIT,
        "the run's status in the thread",
    )
    run_id = int(status.all_text().removeprefix("Run #").split(":", 1)[0].split()[0])
    slack.click("chatops.view", user="U_LEAD", message=status)
    said = wait_for(
        lambda: [t for t in slack.standin.ephemerals("U_LEAD") if "View run" in t], WAIT
    )[0]
    url = said.split("<", 1)[1].split("|", 1)[0]
    assert url.startswith(slack.url + f"/runs/{run_id}?t=")  # where serve listens

    browser.get(url)
    wait_for(lambda: "tick" in text_of(browser, "pre[id^=live-]"), WAIT, "the live output")
    assert text_of(browser, "#state") == "running"
    assert f"Run #{run_id}: Watch" in text_of(browser, "h1")
    browser.execute_script("window.chatopsKept = 'the same page'")  # gone if it reloads
    seen = text_of(browser, "pre[id^=live-]")
    wait_for(lambda: text_of(browser, "pre[id^=live-]") != seen, WAIT, "newer output, live")
    keep(browser, tmp_path, "run-page-live.png")
    release.write_text("go")
    wait_for(lambda: text_of(browser, "#state") == "succeeded", WAIT, "the run's end, live")
    assert browser.execute_script("return window.chatopsKept") == "the same page"  # no reload
    page = text_of(browser, "#live")
    assert "<script>window.chatopsPwned=1</script>" in page  # the markup, as text
    assert browser.execute_script("return window.chatopsPwned === undefined")  # ran nothing
    assert "plan.approved" in text_of(browser, "#timeline") and "green done" in page
    keep(browser, tmp_path, "run-page.png")
    browser.set_window_size(640, 1800)  # a phone-wide window: nothing runs off the page
    try:
        # a long detail with no space in it (a drift's JSON), as the timeline may show one
        browser.execute_script(
            "var c = document.querySelector('#timeline tr:last-child td:last-child');"
            "c.textContent = JSON.stringify({expected: 'a'.repeat(150), found: 'b'.repeat(150)})"
            ".replace(/ /g, '');"
        )
        fits = "return document.documentElement.scrollWidth <= window.innerWidth"
        assert wait_for(lambda: browser.execute_script(fits), WAIT, "a page that fits")
        lines = browser.execute_script(  # the line boxes of each "when" cell's text
            "return Array.from(document.querySelectorAll('td.when')).map(function (c) {"
            " var r = document.createRange(); r.selectNodeContents(c);"
            " return r.getClientRects().length; })"
        )
        assert lines and max(lines) == 1, lines  # each "when" on one line
    finally:
        browser.set_window_size(1280, 1800)

    from selenium.webdriver.common.by import By

    browser.find_element(By.LINK_TEXT, "whole output").click()  # the first step's, searched
    wait_for(lambda: "lines 1 to" in text_of(browser, "body"), WAIT, "the output page")
    box = browser.find_element(By.NAME, "q")
    box.send_keys("tick 3")
    box.submit()
    wait_for(lambda: "line(s) with" in text_of(browser, "#hits"), WAIT, "the search's hits")
    assert browser.find_elements(By.CSS_SELECTOR, "mark.hit")

    key = Settings(link_secret=LINK_SECRET).link_key()
    stranger = token_for(key, run_id, "U_NOBODY", int(time.time()) + 600)
    browser.get(f"{slack.url}/runs/{run_id}?t={stranger}")
    assert "Not for this link" in text_of(browser, "h1")
    assert "may see a run" in text_of(browser, "body")
    expired = token_for(key, run_id, "U_LEAD", int(time.time()) - 1)
    browser.get(f"{slack.url}/runs/{run_id}?t={expired}")
    assert "expired" in text_of(browser, "body") and "Run #" not in browser.title

    out = subprocess.run(
        [sys.executable, "-m", "chatops", "report", "--link", "--as", "U_LEAD"],
        env={**env, "CHATOPS_PUBLIC_URL": slack.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    browser.get(out.stdout.splitlines()[0])
    wait_for(lambda: "Deployment frequency" in text_of(browser, "#numbers"), WAIT, "insights")
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure svg")) == 2
    deploys = browser.find_element(By.CSS_SELECTOR, "#numbers .card b").text
    assert int(deploys) > 5  # the seeded weeks, counted
    assert len(browser.find_elements(By.CSS_SELECTOR, "#weeks circle")) > 12  # weekly points
    keep(browser, tmp_path, "insights.png")
