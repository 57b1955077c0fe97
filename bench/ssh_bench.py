"""One step on 50 hosts over real SSH, against Fabric 3's ThreadingGroup in the same run.

Four OpenSSH servers listen on 127.0.0.1-50 (sshd takes at most 16 addresses each), one
host key, strict host-key checking on both sides (RejectPolicy, the generated known_hosts).
Measured, interleaved, medians of ROUNDS:

- a step on 50 hosts: chatops' SshExecutor (one thread per host) vs ThreadingGroup.run;
- the second step of a run (its connections open) vs the first (they open);
- the controller's CPU time per host for a step.

Goals (2-core reference machine): <= 1.2x ThreadingGroup; second step <= 0.25x the first;
<= 0.06 s CPU per host.

    .venv/bin/python bench/ssh_bench.py          (needs openssh-server; as root)
"""

from __future__ import annotations

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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paramiko  # noqa: E402
from fabric import Config, Connection, ThreadingGroup  # noqa: E402

from chatops.engine.planning.inventory import Host  # noqa: E402
from chatops.executors.pacing import machine_parallel  # noqa: E402
from chatops.executors.ssh import SshExecutor  # noqa: E402
from tests.servers import SSHD, _keygen, free_port  # noqa: E402

HOSTS = int(os.environ.get("BENCH_HOSTS", "50"))  # up to 254 (127.0.0.x)
PER_SSHD = 16
ROUNDS = 5
COMMAND = "echo ok"


def listening(address: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {address}:{port}")


@contextmanager
def servers(work: Path) -> Iterator[list[tuple[str, int]]]:
    """sshd processes covering 127.0.0.1..HOSTS; yields (address, port) for each host."""
    _keygen(work / "host_key", "host")
    _keygen(work / "client_key", "client")
    shutil.copy(work / "client_key.pub", work / "authorized_keys")
    os.chmod(work / "authorized_keys", 0o600)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    addresses = [f"127.0.0.{i}" for i in range(1, HOSTS + 1)]
    hosts, procs = [], []
    for n in range(0, HOSTS, PER_SSHD):
        chunk, port = addresses[n : n + PER_SSHD], free_port()
        cfg = work / f"sshd_{n}.conf"
        cfg.write_text(
            f"Port {port}\n"
            + "".join(f"ListenAddress {a}\n" for a in chunk)
            + f"HostKey {work / 'host_key'}\nAuthorizedKeysFile {work / 'authorized_keys'}\n"
            f"PidFile {work / f'sshd_{n}.pid'}\nPasswordAuthentication no\nUsePAM no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "StrictModes no\nMaxStartups 200:30:300\nMaxSessions 50\nLogLevel ERROR\n"
        )
        procs.append(
            subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stderr=subprocess.DEVNULL)
        )
        listening(chunk[0], port)
        hosts += [(a, port) for a in chunk]
    pub = (work / "host_key.pub").read_text().split()
    (work / "known_hosts").write_text("".join(f"[{a}]:{p} {pub[0]} {pub[1]}\n" for a, p in hosts))
    try:
        yield hosts
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def group(work: Path, hosts: list[tuple[str, int]]) -> ThreadingGroup:
    conns = []
    for address, port in hosts:
        c = Connection(
            address,
            port=port,
            config=Config(ssh_config=paramiko.SSHConfig()),
            connect_kwargs={
                "key_filename": str(work / "client_key"),
                "look_for_keys": False,
                "allow_agent": False,
            },
        )
        c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        c.client.load_host_keys(str(work / "known_hosts"))
        conns.append(c)
    return ThreadingGroup.from_connections(conns)


def fabric_step(work: Path, hosts: list[tuple[str, int]]) -> float:
    g = group(work, hosts)
    started = time.perf_counter()
    results = g.run(COMMAND, hide=True)
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in results.values()) and len(results) == HOSTS
    g.close()
    return elapsed


def chatops_step(
    ex: SshExecutor, inventory: list[Host], session: str | None, width: int = HOSTS
) -> tuple[float, float]:
    cpu, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=width) as pool:
        results = list(
            pool.map(
                lambda h: ex.run(
                    h, COMMAND, timeout=30, on_output=lambda _c: None, session=session
                ),
                inventory,
            )
        )
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in results), [r for r in results if not r.ok][:1]
    return elapsed, time.process_time() - cpu


def one_host(host: Host) -> tuple[float, float, float]:
    """On one idle host, in turn: a run's first command, a later one, and the server's own
    cost of an exec session (paramiko, `true`, on the kept connection)."""
    firsts, nexts, floors = [], [], []
    for n in range(9):
        ex = SshExecutor()
        for times in (firsts, nexts):
            t = time.perf_counter()
            r = ex.run(host, COMMAND, timeout=30, on_output=lambda _c: None, session=f"solo-{n}")
            times.append(time.perf_counter() - t)
            assert r.ok, r
        conn = ex._pooled(f"solo-{n}", host).conn
        t = time.perf_counter()
        chan = conn.create_session()
        chan.exec_command("true")
        assert chan.recv_exit_status() == 0
        floors.append(time.perf_counter() - t)
        ex.close_session(f"solo-{n}")
    return statistics.median(firsts), statistics.median(nexts), statistics.median(floors)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        hosts = stack.enter_context(servers(work))
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        inventory = [
            Host.model_validate(
                {
                    "name": f"h{i}",
                    "address": a,
                    "port": p,
                    "user": user,
                    "key_file": str(work / "client_key"),
                    "known_hosts": str(work / "known_hosts"),
                }
            )
            for i, (a, p) in enumerate(hosts)
        ]
        solo_first, solo_next, floor = one_host(inventory[0])
        fabric, first, second, alone, cpu, cpu2 = [], [], [], [], [], []
        cold, warm = [], []
        width = machine_parallel()
        for n in range(ROUNDS):
            fabric.append(fabric_step(work, hosts))
            # a run, then the next run on the same hosts within ssh.keep_warm
            wx = SshExecutor(keep_warm=60)
            cold.append(chatops_step(wx, inventory, f"cold-{n}", width)[0])
            wx.close_session(f"cold-{n}")
            warm.append(chatops_step(wx, inventory, f"warm-{n}", width)[0])
            wx.close_session(f"warm-{n}")
            assert wx.opened == HOSTS and wx.warm.reused == HOSTS, (wx.opened, wx.warm.reused)
            wx.warm.close_all()
            ex = SshExecutor()
            t1, c1 = chatops_step(ex, inventory, f"run-{n}", width)
            t2, c2 = chatops_step(ex, inventory, f"run-{n}", width)
            assert ex.opened == HOSTS, ex.opened  # the second step opened nothing
            ex.close_session(f"run-{n}")
            alone.append(chatops_step(ex, inventory, None, width)[0])  # a connection a command
            first.append(t1)
            second.append(t2)
            cpu.append(c1 / HOSTS)
            cpu2.append(c2 / HOSTS)
    f, a, b, d, c = (statistics.median(x) for x in (fabric, first, second, alone, cpu))
    c2 = statistics.median(cpu2)
    print(
        f"{platform.node()} · {os.cpu_count()} cores · {datetime.now(UTC):%Y-%m-%d} · "
        f"{HOSTS} hosts on {len(range(0, HOSTS, PER_SSHD))} sshd · medians of {ROUNDS}"
    )
    print(f"ThreadingGroup.run (anchor)      {f * 1000:7.0f} ms  1.00x")
    k, w = statistics.median(cold), statistics.median(warm)
    print(f"chatops, {width} at once (a run)     {k * 1000:7.0f} ms  {k / f:.2f}x")
    print(f"the next run, warm connections   {w * 1000:7.0f} ms  {w / k:.2f}x of a cold one")
    print(f"chatops first step (connects)    {a * 1000:7.0f} ms  {a / f:.2f}x")
    print(f"chatops second step (same run)   {b * 1000:7.0f} ms  {b / a:.2f}x of the first")
    print(f"a step without a session         {d * 1000:7.0f} ms  (a connection per command)")
    print(f"connecting, per step (1st - 2nd) {(a - b) * 1000:7.0f} ms")
    print(f"controller CPU per host, step 1  {c:.4f} s")
    print(f"controller CPU per host, step 2  {c2:.4f} s")
    print("one host, idle, commands in turn (medians of 9):")
    print(f"  first command of a run          {solo_first * 1000:7.1f} ms  (connects)")
    print(
        f"  a later command                 {solo_next * 1000:7.1f} ms  "
        f"{solo_next / solo_first:.2f}x of the first"
    )
    print(f"  the server's own exec (`true`)  {floor * 1000:7.1f} ms  on a kept connection")
    print(
        f"  ours, server exec taken out     {(solo_next - floor) * 1000:7.1f} ms vs "
        f"{(solo_first - floor) * 1000:.1f} ms: "
        f"{(solo_next - floor) / (solo_first - floor):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
