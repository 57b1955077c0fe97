"""Warm connections across runs, on the real sshd: the next run on a host takes the last
run's connection (no new handshake) within `keep_warm`, after checking it; past its time,
dead, with the host's key changed in known_hosts, or reached another way, it does not."""

from __future__ import annotations

from pathlib import Path

from chatops.engine.planning.inventory import Host
from chatops.executors.ssh import SshExecutor
from tests.servers import Sshd, _keygen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def step(ex: SshExecutor, host: Host, run: str) -> str:
    out: list[str] = []
    r = ex.run(host, "echo $SSH_CONNECTION", timeout=20, on_output=out.append, session=run)
    ex.close_session(run)  # the run ends (or parks)
    return r.outcome if not r.ok else "".join(out).strip()


def test_the_next_run_takes_the_warm_connection_until_it_is_stale(sshd: Sshd) -> None:
    clock = Clock()
    ex = SshExecutor(keep_warm=60, clock=clock)
    host = Host.model_validate(sshd.host())
    first = step(ex, host, "run-1")
    second = step(ex, host, "run-2")
    assert ex.opened == 1 and ex.warm.reused == 1
    assert first.startswith("127.0.0.1 ") and second == first  # one connection (its port)
    clock.now += 61  # past keep_warm: closed, not reused
    step(ex, host, "run-3")
    assert ex.opened == 2 and ex.warm.reused == 1


def test_a_dead_one_or_another_way_or_a_changed_key_is_not_reused(
    sshd: Sshd, tmp_path: Path
) -> None:
    ex = SshExecutor(keep_warm=60)
    host = Host.model_validate(sshd.host())
    step(ex, host, "run-1")
    sshd.kill_sessions()  # the warm connection's server side is gone
    assert step(ex, host, "run-2").startswith("127.0.0.1 ")
    assert ex.opened == 2 and ex.warm.reused == 0  # checked, found dead, a new one

    other = Host.model_validate(sshd.host(connect_timeout=7, name="alias"))  # the same way
    step(ex, other, "run-3")
    assert ex.opened == 2 and ex.warm.reused == 1
    _keygen(tmp_path / "other", "another server")
    another = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {another}\n")
    moved = Host.model_validate(sshd.host(known_hosts=str(wrong)))  # another way: not reused
    assert step(ex, moved, "run-4") == "host_key_mismatch"
    assert ex.warm.reused == 1

    changed = tmp_path / "changed"
    changed.write_text(Path(sshd.known_hosts).read_text())
    keyed = Host.model_validate(sshd.host(known_hosts=str(changed)))
    step(ex, keyed, "run-5")  # warm now, under this known_hosts
    before = ex.opened
    changed.write_text(f"[127.0.0.1]:{sshd.port} {another}\n")  # the key changed
    assert step(ex, keyed, "run-6") == "host_key_mismatch"  # not reused: a new one, refused
    assert ex.warm.reused == 1 and ex.opened == before
