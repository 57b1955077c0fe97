"""One step on 50, 200 and 500 hosts over real SSH: chatops against Fabric 3's
ThreadingGroup and parallel-ssh, each in a process of its own, in the same run.

OpenSSH servers listen on loopback, 16 addresses each (sshd takes at most 16):
127.0.0.1-254, then 127.0.1.x. One host key, strict host-key checking for chatops and
Fabric (RejectPolicy and the generated known_hosts; parallel-ssh checks no host key).
Measured, interleaved (the contenders' order turns each round), medians:

- the step's wall time and the controller's CPU per host; the process's peak RSS;
- chatops' next run on the same hosts, its connections warm (`ssh.keep_warm`), and what
  they cost the controller while they wait, idle;
- the servers' own CPU (every sshd process, their sessions included) per host for a
  step, and for a connection alone (connect, authenticate, close): the floor a step
  cannot go under on this machine is the servers' CPU over its cores;
- where chatops' time goes against Fabric's (leave them out with BENCH_SPLIT=0): Fabric
  running the command under `timeout` on the host (what this project's rules ask of every
  remote command), and chatops' durable job over bare paramiko (the job without the engine).

Writes bench/ssh_scale.png (time and RSS against host count) if matplotlib is installed.

    .venv/bin/python bench/ssh_bench.py        (openssh-server; root; the `bench` extra)
    BENCH_HOSTS=50,200 BENCH_ROUNDS=3 .venv/bin/python bench/ssh_bench.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import SSHD, _keygen, free_port  # noqa: E402

COUNTS = [int(n) for n in os.environ.get("BENCH_HOSTS", "50,200,500").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PER_SSHD = 16
CONTENDERS = ["chatops", "fabric", "pssh"]
# where chatops' time goes against Fabric's (BENCH_SPLIT=0 leaves them out): the rules'
# remote `timeout` on Fabric, and chatops' durable job over bare paramiko
SPLIT = ["fabric-timeout", "paramiko-job"] if os.environ.get("BENCH_SPLIT", "1") != "0" else []
TICK = os.sysconf("SC_CLK_TCK")


def address(i: int) -> str:
    """The i-th loopback host: 127.0.0.1-254, then 127.0.1.1-254, ..."""
    return f"127.0.{i // 254}.{i % 254 + 1}"


def listening(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


@contextmanager
def servers(work: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """sshd processes for `count` hosts; hosts.json, client_key, known_hosts in `work`."""
    _keygen(work / "host_key", "host")
    _keygen(work / "client_key", "client")
    shutil.copy(work / "client_key.pub", work / "authorized_keys")
    os.chmod(work / "authorized_keys", 0o600)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    hosts, procs = [], []
    for n in range(0, count, PER_SSHD):
        chunk, port = [address(i) for i in range(n, min(count, n + PER_SSHD))], free_port()
        cfg = work / f"sshd_{n}.conf"
        cfg.write_text(
            f"Port {port}\n"
            + "".join(f"ListenAddress {a}\n" for a in chunk)
            + f"HostKey {work / 'host_key'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
            f"PidFile {work / f'sshd_{n}.pid'}\nPasswordAuthentication no\nUsePAM no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "StrictModes no\nMaxStartups 1000:30:2000\nMaxSessions 50\nLogLevel ERROR\n"
            # the servers' sessions skip the login's ~/.bashrc (pyenv init here: 150 ms of
            # CPU a session); a fleet's hosts pay their shells on CPUs of their own
            "SetEnv SHLVL=1\n"
        )
        procs.append(
            subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stderr=subprocess.DEVNULL)
        )
        listening(chunk[0], port)
        hosts += [{"address": a, "port": port, "user": user} for a in chunk]
    (work / "hosts.json").write_text(json.dumps(hosts))
    pub = (work / "host_key.pub").read_text().split()
    (work / "known_hosts").write_text(
        "".join(f"[{h['address']}]:{h['port']} {pub[0]} {pub[1]}\n" for h in hosts)
    )
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def server_cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds of every sshd and what it reaped (connections, their sessions), once
    the connections of the last contender have closed."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_children(p.pid) for p in procs):
        time.sleep(0.05)
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def _children(pid: int) -> bool:
    return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().strip())


def contender(
    name: str, work: Path, n: int, procs: list[subprocess.Popen[bytes]]
) -> dict[str, float]:
    before = server_cpu(procs)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ssh_contenders.py"), name, str(work), str(n)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name} on {n} hosts failed:\n{out.stderr[-3000:]}")
    measured: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    measured["server_cpu"] = server_cpu(procs) - before
    return measured


def med(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def plot(results: dict[int, dict[str, list[dict[str, float]]]]) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    counts = sorted(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in CONTENDERS:
        label = {"chatops": "chatops", "fabric": "Fabric ThreadingGroup", "pssh": "parallel-ssh"}
        left.plot(counts, [med(results[c][name], "wall") for c in counts], "o-", label=label[name])
        right.plot(counts, [med(results[c][name], "rss_mb") for c in counts], "o-")
    left.plot(
        counts, [med(results[c]["chatops"], "warm") for c in counts], "o--", label="chatops, warm"
    )
    left.set(xlabel="hosts", ylabel="one step, s (median)", title="Wall time")
    right.set(xlabel="hosts", ylabel="peak RSS, MB", title="Controller memory")
    right.axhline(150, color="grey", linestyle=":", linewidth=1)
    left.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"{platform.node()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
    fig.tight_layout()
    path = ROOT / "bench" / "ssh_scale.png"
    fig.savefig(path, dpi=100)
    return path


def report(
    results: dict[int, dict[str, list[dict[str, float]]]], handshakes: dict[int, float]
) -> None:
    cores = os.cpu_count() or 1
    print(
        f"{platform.node()} · {cores} cores · {datetime.now(UTC):%Y-%m-%d} · "
        f"medians of {ROUNDS}, interleaved"
    )
    for n in sorted(results):
        r = results[n]
        best = min(med(r["fabric"], "wall"), med(r["pssh"], "wall"))
        print(f"\n{n} hosts on {len(range(0, n, PER_SSHD))} sshd")
        print(
            f"{'':24}{'wall s':>8}{'ratio':>8}{'CPU/host s':>12}{'RSS MB':>8}"
            f"{'sshd CPU/host s':>17}"
        )
        for name in CONTENDERS + SPLIT:
            wall, cpu, rss, srv = (med(r[name], k) for k in ("wall", "cpu", "rss_mb", "server_cpu"))
            print(
                f"{name:24}{wall:8.2f}{wall / best:7.2f}x{cpu / n:12.4f}{rss:8.0f}{srv / n:17.3f}"
            )
        cold, warm = med(r["chatops"], "wall"), med(r["chatops"], "warm")
        print(
            f"{'chatops, next run, warm':24}{warm:8.2f}{warm / cold:7.2f}x of the cold run, "
            f"CPU/host {med(r['chatops'], 'warm_cpu') / n:.4f} s; {n} kept warm, idle: "
            f"{med(r['chatops'], 'idle_cpu_per_s') * 1000:.0f} ms of CPU a second"
        )
        print(
            "  (chatops' sshd CPU counts both its runs: the cold one and the warm one; "
            "paramiko-job's is the durable job's on a connection of its own)"
        )
        floor = handshakes[n] * n / cores
        print(
            f"  a connection alone costs the servers {handshakes[n]:.3f} s of CPU: "
            f"{n} of them on {cores} cores take at least {floor:.2f} s; "
            f"chatops' cold step is {cold / floor:.2f}x that floor"
        )


def main() -> int:
    results: dict[int, dict[str, list[dict[str, float]]]] = {}
    handshakes: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, servers(Path(tmp), max(COUNTS)) as procs:
        work = Path(tmp)
        for n in COUNTS:
            results[n] = {name: [] for name in CONTENDERS + SPLIT}
            alone = contender("handshake", work, n, procs)
            handshakes[n] = alone["server_cpu"] / n
            for k in range(ROUNDS):
                every = CONTENDERS + SPLIT
                order = every[k % len(every) :] + every[: k % len(every)]
                for name in order:
                    results[n][name].append(contender(name, work, n, procs))
                    print(f"  {n} hosts, round {k + 1}, {name}: {results[n][name][-1]}", flush=True)
    report(results, handshakes)
    path = plot(results)
    if path is not None:
        print(f"\nplot: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
