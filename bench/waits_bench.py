"""Waiting holds no thread: 500 concurrent `GET /api/v1/runs/N/decision?wait=20` from ten
agents against one `chatops serve --http`, while `/healthz` and a run's page are probed; the
anchor is the same serve, idle, in the same run.

Goals: /healthz p99 <= 100 ms and a run page p99 <= 500 ms under the waits; every wait
answered within 1 s of its deadline or of the decision; serve's thread count flat.

    .venv/bin/python bench/waits_bench.py        (BENCH_WAITS=500 BENCH_AGENTS=10)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chatops.simulator.harness import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from chatops.simulator.standin import SlackStandIn  # noqa: E402
from tests.apps import make_app, service_config  # noqa: E402
from tests.servers import free_port, wait_port  # noqa: E402

WAITS = int(os.environ.get("BENCH_WAITS", "500"))
AGENTS = int(os.environ.get("BENCH_AGENTS", "10"))
WAIT_S = 20.0
DEPLOY = {"service": "web", "ref": "v2"}


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "chatops", *args], env=env, capture_output=True, text=True
    )
    if done.returncode not in (0, 3):
        raise SystemExit(f"chatops {' '.join(args)}: {done.stderr}")
    return done.stdout


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def probe(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    took = []
    for _ in range(n):
        start = time.perf_counter()
        async with session.get(url) as r:
            await r.read()
            assert r.status == 200, (url, r.status)
        took.append(time.perf_counter() - start)
        await asyncio.sleep(0.02)
    return took


async def measure(base: str, page: str, n: int = 150) -> tuple[list[float], list[float]]:
    async with aiohttp.ClientSession() as s:
        return await probe(s, f"{base}/healthz", n), await probe(s, page, n // 3)


async def loaded(
    base: str, page: str, tokens: list[str], runs: list[int], approve: object
) -> dict[str, object]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    answered: list[tuple[int, float, float, str]] = []  # run, sent, answered, decision
    assert callable(approve)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:

        async def wait(i: int) -> None:
            token, run = tokens[i % len(tokens)], runs[i % len(runs)]
            url = f"{base}/api/v1/runs/{run}/decision?wait={WAIT_S:g}"
            sent = time.monotonic()
            async with s.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
                body = json.loads(await r.read())
                assert r.status == 200, (r.status, body)
                answered.append((run, sent, time.monotonic(), body["decision"]))

        waits = [asyncio.create_task(wait(i)) for i in range(WAITS)]
        await asyncio.sleep(3)  # all of them waiting
        health, pages = await measure(base, page)
        decided_at = await asyncio.to_thread(approve)  # half the runs: their waits answer now
        await asyncio.gather(*waits)
    late_decided = [t - decided_at[r] for r, _s, t, _d in answered if r in decided_at]
    late_deadline = [t - (sent + WAIT_S) for r, sent, t, _d in answered if r not in decided_at]
    return {
        "health": health,
        "pages": pages,
        "after_decision": late_decided,
        "after_deadline": late_deadline,
        "answers": len(answered),
    }


def main() -> int:
    base_dir = Path(tempfile.mkdtemp(prefix="waits-bench-"))
    app = make_app(base_dir / "app")
    cfg = service_config(app, "http://127.0.0.1:9/health", [{"name": "h1", "transport": "local"}])
    cfg["agents"] = {"requests_per_minute": 6000, "burst": 1000, "max_wait": 60}
    (base_dir / "chatops.yml").write_text(yaml.safe_dump(cfg))
    standin = SlackStandIn().start()
    port = free_port()
    env = dict(
        os.environ,
        CHATOPS_CONFIG=str(base_dir / "chatops.yml"),
        CHATOPS_COMMANDS=str(ROOT / "commands"),
        CHATOPS_DATABASE_URL=f"sqlite:///{base_dir / 'c.db'}",
        CHATOPS_SLACK_API_URL=standin.api_url,
        CHATOPS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    env.pop("SLACK_APP_TOKEN", None)
    tokens = []
    for i in range(AGENTS):
        out = cli(env, "agent", "add", f"agent-{i}", "--role", "coder", "--as", "U_LEAD")
        tokens.append(out.splitlines()[1])
    serve = subprocess.Popen(
        [sys.executable, "-m", "chatops", "serve", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_port(port, timeout=60)
        runs = []
        for token in tokens:
            req = urllib.request.Request(
                f"{base}/api/v1/plans",
                data=json.dumps(
                    {"process": "deploy", "params": DEPLOY, "reason": "bench"}
                ).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as r:
                runs.append(int(json.loads(r.read())["run"]["id"]))
        page = cli(env, "show", str(runs[0]), "--link", "--as", "U_LEAD").splitlines()[0]
        idle_threads = threads(serve.pid)
        idle_health, idle_pages = asyncio.run(measure(base, page))

        def approve() -> dict[int, float]:
            at = {}
            for run in runs[: len(runs) // 2]:
                cli(env, "approve", str(run), "--as", "U_LEAD")
                at[run] = time.monotonic()  # committed when the command returns
            return at

        peak = [idle_threads]
        watching = True

        def sample() -> None:
            while watching:
                peak.append(threads(serve.pid))
                time.sleep(0.2)

        import threading

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        got = asyncio.run(loaded(base, page, tokens, runs, approve))
        watching = False
        t.join()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        standin.stop()
    health, pages = got["health"], got["pages"]
    assert isinstance(health, list) and isinstance(pages, list)
    after_d, after_dl = got["after_decision"], got["after_deadline"]
    assert isinstance(after_d, list) and isinstance(after_dl, list)
    ms = 1000.0
    print(f"{WAITS} waits from {AGENTS} agents, {got['answers']} answered")
    print(
        f"/healthz idle p50 {statistics.median(idle_health) * ms:.1f} ms p99 "
        f"{p(idle_health, 0.99) * ms:.1f} ms; under the waits p50 "
        f"{statistics.median(health) * ms:.1f} ms p99 {p(health, 0.99) * ms:.1f} ms "
        f"({p(health, 0.99) / p(idle_health, 0.99):.2f}x)"
    )
    print(
        f"run page idle p99 {p(idle_pages, 0.99) * ms:.0f} ms; under the waits p99 "
        f"{p(pages, 0.99) * ms:.0f} ms ({p(pages, 0.99) / p(idle_pages, 0.99):.2f}x)"
    )
    print(
        f"answered after the decision: max {max(after_d):.2f} s; "
        f"after the deadline: min {min(after_dl):.2f} s, max {max(after_dl):.2f} s"
    )
    print(f"serve's threads: {idle_threads} idle, at most {max(peak)} under the waits")
    ok = (
        p(health, 0.99) <= 0.1
        and p(pages, 0.99) <= 0.5
        and max(after_d) <= 1.0
        and max(after_dl) <= 1.0
        and max(peak) <= idle_threads + 20  # bounded pools, not a thread a wait
    )
    print("goals met" if ok else "GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
