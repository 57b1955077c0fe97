"""One step on every host of a benchmark fleet, by one contender, in a process of its own
(for its peak RSS); prints what it measured as one JSON line.

    python bench/ssh_contenders.py NAME WORK N

NAME: `chatops` (the real engine: a plan requested, approved and run from a SQLite store,
then the next run on the same hosts, its connections warm), `fabric` (Fabric 3's
ThreadingGroup with RejectPolicy), `pssh` (parallel-ssh's ParallelSSHClient), `handshake`
(connect, authenticate, close: the servers' cost of a connection alone). Two more split
chatops' time from Fabric's: `fabric-timeout` (Fabric running the command under `timeout`
on the host, as this project's rules require of every remote command) and `paramiko-job`
(bare paramiko, as many hosts at once as chatops, each running chatops' durable job: its
price without the engine). WORK holds
hosts.json, client_key, known_hosts (written by bench/ssh_bench.py); N: the first N hosts.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.apps import service_runbook  # noqa: E402

COMMAND = "echo ok"

RUNBOOK = service_runbook(
    "One command on every host",
    "The benchmark's step.",
    "  - {id: fanout, kind: ssh, title: One command on every host, "
    f'run: "{COMMAND}", hosts: parallel, timeout: 120}}',
)


def hosts(work: Path, n: int) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads((work / "hosts.json").read_text())
    return listed[:n]


def connected(h: dict[str, object], known: Any, key: Any) -> Any:
    """A bare paramiko client connected to host `h`: its key only from `known` (RejectPolicy),
    authenticated with `key`."""
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    name = f"[{h['address']}]:{h['port']}"
    for keytype, k in (known.lookup(name) or {}).items():
        client.get_host_keys().add(name, keytype, k)
    client.connect(
        str(h["address"]),
        port=int(str(h["port"])),
        username=str(h["user"]),
        pkey=key,
        look_for_keys=False,
        allow_agent=False,
    )
    return client


def measured(step: Callable[[], None]) -> tuple[float, float]:
    cpu, started = time.process_time(), time.perf_counter()
    step()
    return time.perf_counter() - started, time.process_time() - cpu


def chatops(work: Path, n: int) -> dict[str, float]:
    import yaml

    from chatops.bootstrap import build
    from chatops.engine.domain.run import RunState
    from chatops.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="chatops-bench-"))
    inventory = [
        {
            "name": f"h{i}",
            "address": h["address"],
            "port": h["port"],
            "user": h["user"],
            "key_file": str(work / "client_key"),
            "known_hosts": str(work / "known_hosts"),
        }
        for i, h in enumerate(hosts(work, n))
    ]
    manager = {k: "true" for k in ("status", "start", "stop", "restart")}
    config = {
        "services": {
            "web": {
                "app_dir": "/tmp",
                "manager": {"type": "custom", **manager},
                "environments": {"production": {"hosts": inventory}},
            }
        },
        "roles": {"coder": {"users": ["U_CODER"]}, "lead": {"users": ["U_LEAD"]}},
        "ssh": {"keep_warm": "60s"},  # as `chatops serve` would keep them for the next run
    }
    (tmp / "chatops.yml").write_text(yaml.safe_dump(config))
    (tmp / "commands").mkdir()
    (tmp / "commands" / "fanout.yml").write_text(RUNBOOK)
    settings = Settings(
        config=tmp / "chatops.yml",
        database_url=f"sqlite:///{tmp / 'chatops.db'}",
        commands=tmp / "commands",
    )
    container = build(settings).start(sweep=False)
    w = container.wired

    def one_run() -> None:
        req = w.changes.request("fanout", {"service": "web"}, requester="U_CODER")
        assert req.verdict.ok, req.verdict.reasons
        w.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
        [run] = w.runner.drain()
        assert run.state == RunState.SUCCEEDED, run.state
        steps = [s for s in w.queries.steps(run.id) if s.host]
        assert len(steps) == n and all(s.exit_code == 0 for s in steps), len(steps)

    cold, cold_cpu = measured(one_run)
    warm, warm_cpu = measured(one_run)
    # what the connections kept warm cost the controller while nothing happens
    idle, idle_cpu = measured(lambda: time.sleep(2))
    container.stop()
    return {
        "wall": cold,
        "cpu": cold_cpu,
        "warm": warm,
        "warm_cpu": warm_cpu,
        "idle_cpu_per_s": idle_cpu / idle,
    }


def fabric(work: Path, n: int, command: str = COMMAND) -> dict[str, float]:
    import paramiko
    from fabric import Config, Connection, ThreadingGroup

    # a careful Fabric user: known_hosts parsed once, each connection given its host's keys
    # (paramiko's load_host_keys per connection parses the whole file each time)
    known = paramiko.HostKeys(str(work / "known_hosts"))
    listed = hosts(work, n)

    def step() -> None:
        conns = []
        for h in listed:
            c = Connection(
                str(h["address"]),
                user=str(h["user"]),
                port=int(str(h["port"])),
                config=Config(ssh_config=paramiko.SSHConfig()),
                connect_kwargs={
                    "key_filename": str(work / "client_key"),
                    "look_for_keys": False,
                    "allow_agent": False,
                },
            )
            c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
            name = f"[{h['address']}]:{h['port']}"
            for keytype, key in (known.lookup(name) or {}).items():
                c.client.get_host_keys().add(name, keytype, key)
            conns.append(c)
        group = ThreadingGroup.from_connections(conns)
        results = group.run(command, hide=True)
        assert len(results) == n and all(r.ok for r in results.values())
        group.close()

    wall, cpu = measured(step)
    return {"wall": wall, "cpu": cpu}


def fabric_timeout(work: Path, n: int) -> dict[str, float]:
    """What the rules ask of any remote command, on Fabric: a timeout that stops it on the
    host (a closed channel alone leaves it running)."""
    return fabric(work, n, f"timeout 120s /bin/sh -c {shlex.quote(COMMAND)}")


def paramiko_job(work: Path, n: int) -> dict[str, float]:
    """chatops' durable job (a supervisor that outlives the channel, `timeout`, the output
    and the exit status kept on the host) over bare paramiko: the job's price alone."""
    import paramiko

    from chatops.executors import remote_job
    from chatops.executors.pacing import machine_parallel

    listed = hosts(work, n)
    known = paramiko.HostKeys(str(work / "known_hosts"))
    key = paramiko.Ed25519Key.from_private_key_file(str(work / "client_key"))

    def one(i: int) -> None:
        client = connected(listed[i], known, key)
        chan = client.get_transport().open_session()
        chan.exec_command(remote_job.start(f"bench-{os.getpid()}-{i}", COMMAND, 120))
        out = b"".join(iter(lambda: chan.recv(65536), b""))
        assert chan.recv_exit_status() == 0 and out.endswith(b"ok\n"), out
        client.close()

    def step() -> None:
        with ThreadPoolExecutor(max_workers=machine_parallel()) as pool:
            list(pool.map(one, range(n)))

    wall, cpu = measured(step)
    return {"wall": wall, "cpu": cpu}


def pssh(work: Path, n: int) -> dict[str, float]:
    from pssh.clients import ParallelSSHClient
    from pssh.config import HostConfig

    listed = hosts(work, n)

    def step() -> None:
        client = ParallelSSHClient(
            [str(h["address"]) for h in listed],
            host_config=[
                HostConfig(
                    port=int(str(h["port"])),
                    user=str(h["user"]),
                    private_key=str(work / "client_key"),
                    allow_agent=False,
                    identity_auth=False,
                )
                for h in listed
            ],
            timeout=120,
        )
        output = client.run_command(COMMAND)
        for o in output:  # read to its end, as the others do: join alone at times left a
            list(o.stdout)  # host's exit code None (its end not yet in)
        client.join(output)
        assert len(output) == n and all(o.exit_code == 0 for o in output), [
            (o.host, o.exception) for o in output if o.exit_code != 0
        ][:3]

    wall, cpu = measured(step)
    return {"wall": wall, "cpu": cpu}


def handshake(work: Path, n: int) -> dict[str, float]:
    import paramiko

    listed = hosts(work, n)
    known = paramiko.HostKeys(str(work / "known_hosts"))
    key = paramiko.Ed25519Key.from_private_key_file(str(work / "client_key"))

    def one(h: dict[str, object]) -> None:
        connected(h, known, key).close()

    def step() -> None:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(one, listed))

    wall, cpu = measured(step)
    return {"wall": wall, "cpu": cpu}


CONTENDERS = {
    "chatops": chatops,
    "fabric": fabric,
    "pssh": pssh,
    "handshake": handshake,
    "fabric-timeout": fabric_timeout,
    "paramiko-job": paramiko_job,
}


def main() -> int:
    name, work, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    out = CONTENDERS[name](work, n)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
