"""A steady load through one `chatops serve --http`: memory per run, and how soon a run's
end reaches its thread.

Three services of three hosts each, each in its own channel, a change asked (`/change`,
signed as Slack signs) and approved (a click) every `BENCH_EVERY` seconds in turn, as Slack's
limits allow (the stand-in enforces them; serve keeps to its own budget): runs of four
machine steps, one in five failing and rolled back. Measured:

- serve's RSS after each hundred runs: after a warm-up (the first hundred), the growth per
  hundred runs (a least-squares line). Goal: <= 0.5 MB per 100 runs.
- the end of each run in its thread: from the run's end (serve's audit line, to the
  millisecond) to its summary's post at the stand-in. Goal: p99 <= 5 s at 8 runs a minute.

The anchor is the same serve, idle, in the same run: its RSS growth over the same time
with no runs (what the process grows by itself: caches filling, the allocator).

    .venv/bin/python bench/soak_bench.py      (BENCH_RUNS=500 BENCH_EVERY=7.5)
    BENCH_EVERY=0 ...                          six in flight at a time (memory only)
    BENCH_DB=postgres ...                      on a throwaway PostgreSQL (root: as `postgres`)
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.simulator.harness import BOT_TOKEN, SIGNING_SECRET, RemoteSlack  # noqa: E402
from chatops.simulator.ratelimits import Limits  # noqa: E402
from chatops.simulator.standin import SlackStandIn  # noqa: E402
from tests.apps import make_app, service_config, service_runbook  # noqa: E402
from tests.servers import free_port, postgres_cluster, wait_port  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "500"))
EVERY = float(os.environ.get("BENCH_EVERY", "7.5"))
WARM = int(os.environ.get("BENCH_WARM", "100"))  # runs before the growth is measured
SAMPLE = int(os.environ.get("BENCH_SAMPLE", "50"))  # runs between two looks at RSS
SERVICES = {"web": "C0WEB", "api": "C0API", "jobs": "C0JOBS"}
ROLL = service_runbook(
    "Roll",
    "a change on every host of a service, one in five failing (and rolled back)",
    """  - id: pull
    kind: ssh
    title: Pull
    run: echo pulled
  - id: build
    kind: ssh
    title: Build
    run: "for i in 1 2 3; do echo building $i; done"
  - id: switch
    kind: ssh
    title: Switch
    run: "test ! -e {app_dir}/fail"
    rollback:
      run: echo back
  - id: check
    kind: ssh
    title: Check
    run: echo ok
""",
)


#: serve under tracemalloc: SIGUSR1 takes the baseline, SIGUSR2 writes what grew since
TRACED = """
import signal, sys, tracemalloc
tracemalloc.start(12)
marks = []
def base(*_):
    marks[:] = [tracemalloc.take_snapshot()]
def diff(*_):
    now = tracemalloc.take_snapshot()
    was = sum(s.size for s in marks[0].statistics("filename")) / 2**20
    is_ = sum(s.size for s in now.statistics("filename")) / 2**20
    with open("{out}", "w") as f:
        f.write(f"Python's own memory: {{was:.2f}} MB after the warm-up, {{is_:.2f}} MB")
        f.write(" at the end\\n\\n")
        for stat in now.compare_to(marks[0], "traceback")[:25]:
            f.write(str(stat) + "\\n" + "\\n".join(stat.traceback.format()[-8:]) + "\\n\\n")
signal.signal(signal.SIGUSR1, base)
signal.signal(signal.SIGUSR2, diff)
from chatops.cli.main import main
sys.exit(main({argv!r}))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def slope(points: list[tuple[float, float]]) -> float:
    """Least squares: the growth of y per unit of x."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def database(base: Path) -> Iterator[str]:
    """SQLite in the run's directory, or a throwaway PostgreSQL (`BENCH_DB=postgres`, as the
    field report's soak ran): the same serve, its own process's memory either way."""
    if os.environ.get("BENCH_DB", "sqlite") != "postgres":
        yield f"sqlite:///{base / 'c.db'}"
        return
    with postgres_cluster() as pg:
        yield pg.url


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="soak-bench-"))
    with database(base) as url:
        return soak(base, url)


def soak(base: Path, database_url: str) -> int:
    apps = {name: make_app(base / name) for name in SERVICES}
    hosts = [{"name": f"h{i}", "transport": "local"} for i in (1, 2, 3)]
    cfg = service_config(apps["web"], "http://127.0.0.1:9/health", hosts)
    services = cfg["services"]
    assert isinstance(services, dict)
    for name in ("api", "jobs"):
        services[name] = {**services["web"], "app_dir": str(apps[name].app_dir)}
    (base / "chatops.yml").write_text(yaml.safe_dump(cfg))
    commands = base / "commands"
    commands.mkdir()
    (commands / "roll.yml").write_text(ROLL)
    standin = SlackStandIn(limits=Limits()).start()  # Slack's limits, answered 429 past them
    port = free_port()
    log_path = base / "serve.log"
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(base / "chatops.yml"),
        CHATOPS_COMMANDS=str(commands),
        CHATOPS_DATABASE_URL=database_url,
        CHATOPS_SLACK_API_URL=standin.api_url,
        CHATOPS_LOG_FORMAT="json",
        CHATOPS_LOG_LEVEL="info",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("CHATOPS_SLACK_LIMITS", None)  # serve keeps to Slack's published tiers
    log = log_path.open("ab")
    subprocess.run(
        [sys.executable, "-m", "chatops", "db", "upgrade"], env=env, check=True, timeout=120
    )
    trace = os.environ.get("BENCH_TRACE") == "1"  # where the memory goes: tracemalloc in serve
    argv = ["serve", "--http", "--port", str(port)]
    command = [sys.executable, "-m", "chatops", *argv]
    if trace:
        command = [sys.executable, "-c", TRACED.format(out=base / "trace", argv=argv)]
    serve = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    slacks = {name: RemoteSlack(url, standin, channel) for name, channel in SERVICES.items()}
    wall0, mono0 = time.time(), time.monotonic()
    try:
        wait_port(port, timeout=300 if trace else 60)  # tracing makes every import slow
        time.sleep(5)
        idle = [(0.0, rss_mb(serve.pid))]
        idle_for = float(os.environ.get("BENCH_IDLE", "60"))
        t0 = time.monotonic()
        while time.monotonic() - t0 < idle_for:  # the anchor: the same serve, no runs
            time.sleep(5)
            idle.append((time.monotonic() - t0, rss_mb(serve.pid)))
        samples: list[tuple[int, float]] = []
        ended = drive(slacks, apps, serve.pid, samples)
        settle_until = time.monotonic() + 120
        while time.monotonic() < settle_until and len(summaries(standin, wall0, mono0)) < ended:
            time.sleep(1)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()
        standin.stop()
    if trace and (base / "trace").exists():
        print((base / "trace").read_text()[:6000])
    ends = run_ends(log_path)
    told = summaries(standin, wall0, mono0)
    late = [told[r] - ends[r] for r in ends if r in told]
    after = [(float(n), mb) for n, mb in samples if n >= WARM]
    growth = slope(after) * 100 if len(after) > 1 else float("nan")
    idle_growth = slope(idle) * 3600  # MB an hour, idle
    minutes = (time.monotonic() - mono0) / 60
    print(f"machine {platform.node()}, {os.cpu_count()} cores, {datetime.now():%Y-%m-%d %H:%M}")
    print(f"database: {database_url.split(':', 1)[0]}")
    print(f"{ended} runs ended, {len(told)} summaries in their threads, over {minutes:.0f} min")
    print("RSS (MB) by runs: " + ", ".join(f"{n}: {mb:.1f}" for n, mb in samples))
    print(f"growth after {WARM} runs: {growth:.2f} MB per 100 runs (goal <= 0.5)")
    print(f"anchor, the same serve idle for {idle_for:.0f} s: {idle_growth:.2f} MB an hour")
    if late:
        print(
            f"a run's end to its summary in the thread: p50 {statistics.median(late):.2f} s, "
            f"p99 {pct(late, 0.99):.2f} s, max {max(late):.2f} s, "
            f"{sum(1 for x in late if x > 10)} of {len(late)} later than 10 s (goal p99 <= 5 s)"
        )
    refused = sum(1 for c in standin.calls if c.status == 429)
    print(f"429s answered by the stand-in: {refused}")
    methods: dict[str, int] = {}
    for c in standin.calls:
        methods[c.method] = methods.get(c.method, 0) + 1
    per_run = ", ".join(f"{m} {n / max(ended, 1):.1f}" for m, n in sorted(methods.items()))
    print(f"Web API calls per run: {per_run}")
    return 0


def drive(
    slacks: dict[str, RemoteSlack],
    apps: dict[str, object],
    pid: int,
    samples: list[tuple[int, float]],
) -> int:
    """Ask and approve RUNS changes, one every EVERY seconds in turn over the services;
    sample serve's RSS every SAMPLE runs ended. How many ended."""
    names = list(slacks)
    asked = 0
    approved: set[int] = set()
    lock = threading.Lock()
    standin = next(iter(slacks.values())).standin

    def plans() -> dict[int, object]:
        found = {}
        for m in list(standin.messages):
            for b in m.buttons():
                if b.get("action_id") == "chatops.approve":
                    found[int(b["value"].split(":")[0])] = m
        return found

    next_at = time.monotonic()
    ended = 0
    while asked < RUNS or ended < RUNS:
        in_flight = asked - done_count(standin)
        ready = time.monotonic() >= next_at if EVERY else in_flight < 6  # a person's pace
        if asked < RUNS and ready:
            name = names[asked % len(names)]
            failing = Path(apps[name].app_dir) / "fail"
            if asked % 5 == 4:
                failing.touch()
            else:
                failing.unlink(missing_ok=True)
            slacks[name].command("/change", f"roll {name}", user="U_CODER")
            asked += 1
            next_at += EVERY
        for run_id, message in plans().items():
            with lock:
                if run_id in approved:
                    continue
                approved.add(run_id)
            name = next(n for n, c in SERVICES.items() if c == getattr(message, "channel", ""))
            slacks[name].click("chatops.approve", user="U_LEAD", message=message)  # type: ignore[arg-type]
        done = done_count(standin)
        while ended < min(done, RUNS) and (min(done, RUNS) - ended >= SAMPLE or done >= RUNS):
            ended = min(RUNS, ended + SAMPLE, done)
            samples.append((ended, rss_mb(pid)))
            if os.environ.get("BENCH_TRACE") == "1" and ended >= WARM:
                os.kill(pid, signal.SIGUSR1 if ended - SAMPLE < WARM else signal.SIGUSR2)
            print(f"  {ended} runs: RSS {samples[-1][1]:.1f} MB", flush=True)
        time.sleep(0.05 if EVERY else 0.2)
    return ended


def done_count(standin: SlackStandIn) -> int:
    """Runs whose summary is in their thread."""
    return sum(1 for m in list(standin.messages) if "*Done:*" in m.text)


def run_ends(log_path: Path) -> dict[int, float]:
    """When each run ended (its audit line's time, to the millisecond), epoch seconds."""
    ends = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        data = json.loads(line)
        action = data.get("action", "")
        if action in ("run.succeeded", "run.failed", "run.rolled_back") and "run_id" in data:
            ends[int(data["run_id"])] = datetime.fromisoformat(data["ts"]).timestamp()
    return ends


def summaries(standin: SlackStandIn, wall0: float, mono0: float) -> dict[int, float]:
    """When each run's summary was posted to the stand-in, epoch seconds."""
    import re

    told = {}
    for call in list(standin.calls):
        if call.method != "chat.postMessage" or call.status != 200:
            continue
        text = str(call.args.get("text", ""))
        found = re.search(r"Run #(\d+) (?:succeeded|failed|rolled back)\*", text)
        if found and "Done:" in text:
            told.setdefault(int(found.group(1)), wall0 + (call.at - mono0))
    return told


if __name__ == "__main__":
    sys.exit(main())
