"""Against a real OpenSSH server on loopback: runs, rollbacks, host keys, timeouts."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chatops.bootstrap import Container, build
from chatops.engine.domain.run import RunState
from chatops.engine.planning.inventory import Host
from chatops.engine.redact import Redactor
from chatops.executors.ssh import SshExecutor
from chatops.settings import Settings
from tests.apps import App, health_server, make_app, service_config
from tests.conftest import ROOT
from tests.servers import Sshd

pytestmark = pytest.mark.sshd


@pytest.fixture
def app(tmp_path: Path) -> App:
    return make_app(tmp_path / "app")


BUILT: list[Container] = []


@pytest.fixture(autouse=True)
def _stopped() -> Iterator[None]:
    yield
    while BUILT:
        BUILT.pop().stop()


def wired(tmp_path: Path, cfg: dict[str, object]):  # type: ignore[no-untyped-def]
    """The engine as a CLI command builds it, over this config."""
    config = tmp_path / "chatops.yml"
    config.write_text(yaml.safe_dump(cfg))
    settings = Settings(
        config=config, database_url=f"sqlite:///{tmp_path / 'c.db'}", commands=ROOT / "commands"
    )
    BUILT.append(build(settings).start())
    return BUILT[-1].wired


def deploy(w, ref: str):  # type: ignore[no-untyped-def]
    req = w.changes.request("deploy", {"service": "web", "ref": ref}, requester="U_CODER")
    assert req.verdict.ok, req.verdict.reasons
    w.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
    w.runner.drain()
    w.changes.handoffs.mark_done(req.run.id, "prepare", "U_CODER")
    return w.runner.continue_run(req.run.id)


def test_deploy_over_ssh_changes_the_server(tmp_path: Path, sshd: Sshd, app: App) -> None:
    with health_server(app) as url:
        w = wired(tmp_path, service_config(app, url, [sshd.host()]))
        run = deploy(w, "v2")
    assert run.state == RunState.SUCCEEDED, w.queries.steps(run.id)
    assert app.head() == app.revs["v2"]
    assert app.state() == "running v2"
    assert (app.app_dir / ".chatops" / "previous-revision").read_text().strip() == app.revs["v1"]
    pull = next(s for s in w.queries.steps(run.id) if s.step_id == "pull" and s.host == "box-1")
    assert pull.exit_code == 0 and "v2" in pull.tail
    assert "v2" in w.queries.output(pull.id)


def test_failed_health_check_rolls_the_server_back(tmp_path: Path, sshd: Sshd, app: App) -> None:
    with health_server(app) as url:
        w = wired(tmp_path, service_config(app, url, [sshd.host()]))
        run = deploy(w, "v3-broken")
    assert run.state == RunState.ROLLED_BACK
    assert app.head() == app.revs["v1"]
    assert app.state() == "running v1"
    phases = [(s.phase, s.step_id) for s in w.queries.steps(run.id) if s.host == ""]
    assert phases[-2:] == [("rollback", "pull"), ("rollback", "restart-previous")]


def test_parallel_hosts_each_get_a_result(tmp_path: Path, sshd: Sshd, app: App) -> None:
    hosts = [sshd.host("box-1"), sshd.host("box-2")]
    with health_server(app) as url:
        cfg = service_config(app, url, hosts)
        w = wired(tmp_path, cfg)
        req = w.changes.request("debug", {"service": "web"}, requester="U_ONCALL")
        w.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
        [run] = w.runner.drain()
    status = [s for s in w.queries.steps(run.id) if s.step_id == "status" and s.host]
    assert sorted(s.host for s in status) == ["box-1", "box-2"]


def host(sshd: Sshd, **over: object) -> Host:
    return Host.model_validate(sshd.host(**over))


def test_unknown_host_key_is_refused(tmp_path: Path, sshd: Sshd) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    canary = tmp_path / "canary"
    r = SshExecutor().run(
        host(sshd, known_hosts=str(empty)), f"touch {canary}", timeout=10, on_output=lambda _c: None
    )
    assert r.outcome == "host_key_unknown" and "known_hosts" in r.error
    assert not canary.exists()


def test_host_key_mismatch_is_refused(tmp_path: Path, sshd: Sshd) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = (other.with_suffix(".pub")).read_text().split()[:2]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    canary = tmp_path / "canary"
    r = SshExecutor().run(
        host(sshd, known_hosts=str(wrong)), f"touch {canary}", timeout=10, on_output=lambda _c: None
    )
    assert r.outcome == "host_key_mismatch"
    assert not canary.exists()


def test_wrong_key_is_an_auth_failure(tmp_path: Path, sshd: Sshd) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    r = SshExecutor().probe(host(sshd, key_file=str(stranger)))
    assert r.outcome == "auth_failed"


def test_closed_port_is_unreachable(sshd: Sshd) -> None:
    from tests.servers import free_port

    port = free_port()
    r = SshExecutor().probe(host(sshd, port=port, connect_timeout=2))
    assert r.outcome == "unreachable"
    assert r.error == f"box-1 (127.0.0.1:{port}): connection refused"


def test_a_port_that_never_says_ssh_is_named_as_such(sshd: Sshd) -> None:
    """Named after one wait for the greeting, not tried again: a timeout is no MaxStartups
    drop, however paramiko words it (it was tried five times under load)."""
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    taken: list[socket.socket] = []  # every connection the client made, held open, silent

    def take() -> None:
        while True:
            try:
                taken.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=take, daemon=True).start()
    try:
        r = SshExecutor().run(
            host(sshd, port=port, connect_timeout=1),
            "true",
            timeout=5,
            on_output=lambda _c: None,
            session="s",
        )
    finally:
        silent.close()
        for c in taken:
            c.close()
    assert r.outcome == "unreachable"
    assert r.error == f"box-1 (127.0.0.1:{port}): no SSH banner within 1 s"
    assert len(taken) == 1, f"connected {len(taken)} times"


def _alive(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_timeout_kills_the_remote_process_group(sshd: Sshd) -> None:
    marker = f"chatops-{uuid.uuid4().hex[:8]}"
    cmd = f"sh -c 'sleep 300; echo {marker}' & sleep 301 # {marker}\nwait"
    started = time.monotonic()
    r = SshExecutor().run(host(sshd), cmd, timeout=2, on_output=lambda _c: None)
    assert r.outcome == "timeout" and "killed" in r.error
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(marker) == []


def test_output_streams_in_chunks_and_is_redacted(sshd: Sshd) -> None:
    chunks: list[str] = []
    secret = "hunter2-very-secret"
    token = "xoxb-1234567890-abcdefghij"
    cmd = f"for i in 1 2 3; do echo line $i {secret}; sleep 0.3; done; echo {token}"
    r = SshExecutor(Redactor([secret])).run(host(sshd), cmd, timeout=20, on_output=chunks.append)
    assert r.ok and r.exit_code == 0
    assert len(chunks) >= 3  # arrived while running, not at the end
    text = "".join(chunks)
    assert "line 3 [REDACTED]" in text and secret not in text and "xoxb-" not in text
    assert secret not in r.tail


def test_exit_code_and_tail_of_a_failing_command(sshd: Sshd) -> None:
    r = SshExecutor().run(
        host(sshd), "echo oops >&2; exit 7", timeout=10, on_output=lambda _c: None
    )
    assert r.outcome == "failed" and r.exit_code == 7 and "oops" in r.tail


def test_check_connect_prints_a_table_per_host(tmp_path: Path, sshd: Sshd, app: App) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = service_config(
        app,
        "http://127.0.0.1:1/health",
        [sshd.host("good"), sshd.host("stranger", known_hosts=str(empty))],
    )
    import yaml

    path = tmp_path / "chatops.yml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run(
        [
            str(ROOT / ".venv/bin/chatops"),
            "check",
            "--connect",
            "--config",
            str(path),
            "--commands",
            str(ROOT / "commands"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    rows = {line.split()[2]: line for line in out.stdout.splitlines() if line.startswith("web ")}
    assert " ok" in rows["good"]
    assert "host key unknown" in rows["stranger"]


def test_cancel_stops_the_remote_command_now(tmp_path: Path, sshd: Sshd, app: App) -> None:
    import threading

    marker = f"chatops-cancel-{uuid.uuid4().hex[:8]}"
    with health_server(app) as url:
        cfg = service_config(app, url, [sshd.host()])
        cfg["services"]["web"]["manager"]["restart"] = f"sleep 120 # {marker}"  # type: ignore[index]
        w = wired(tmp_path, cfg)
        req = w.changes.request("deploy", {"service": "web", "ref": "v2"}, requester="U_CODER")
        w.changes.approve(req.run.id, "U_LEAD", req.plan.sha256)
        w.runner.drain()
        w.changes.handoffs.mark_done(req.run.id, "prepare", "U_CODER")
        done: list[object] = []
        t = threading.Thread(target=lambda: done.append(w.runner.continue_run(req.run.id)))
        t.start()
        deadline = time.monotonic() + 30
        while not _alive(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(marker)
        started = time.monotonic()
        w.changes.cancel(req.run.id, "U_CODER")
        t.join(timeout=30)
    assert time.monotonic() - started < 15
    run = w.queries.get_run(req.run.id)
    assert run.state == RunState.CANCELLED
    time.sleep(1)
    assert _alive(marker) == []
    restart = [s for s in w.queries.steps(run.id) if s.step_id == "restart" and s.host == "box-1"]
    assert "cancelled" in restart[0].error


def _client_port(r) -> str:  # type: ignore[no-untyped-def]
    """The client side's port of the SSH connection a command ran over ($SSH_CONNECTION)."""
    assert r.ok, r
    return str(r.tail.split()[1])


def test_a_session_keeps_one_connection_per_host_for_a_run(sshd: Sshd) -> None:
    ex = SshExecutor()
    h = host(sshd)
    cmd = 'echo "$SSH_CONNECTION"'
    ports = {
        _client_port(ex.run(h, cmd, timeout=10, on_output=lambda _c: None, session="run-1"))
        for _ in range(3)
    }
    assert len(ports) == 1 and ex.opened == 1  # three commands, one connection
    alone = {_client_port(ex.run(h, cmd, timeout=10, on_output=lambda _c: None)) for _ in range(2)}
    assert len(alone) == 2 and not alone & ports  # without a session, one each
    ex.close_session("run-1")
    again = _client_port(ex.run(h, cmd, timeout=10, on_output=lambda _c: None, session="run-1"))
    assert again not in ports  # a closed session opens afresh
    ex.close_session("run-1")


def test_a_dropped_connection_is_opened_again_once_before_a_command(sshd: Sshd) -> None:
    ex = SshExecutor()
    h = host(sshd)
    cmd = 'echo "$SSH_CONNECTION"'
    first = _client_port(ex.run(h, cmd, timeout=10, on_output=lambda _c: None, session="s"))
    [entry] = ex._pool.values()
    entry.conn.client.get_transport().sock.close()  # the network drops it between two steps
    second = _client_port(ex.run(h, cmd, timeout=10, on_output=lambda _c: None, session="s"))
    assert second != first and ex.opened == 2
    ex.close_session("s")


def test_a_command_that_may_have_started_is_never_sent_twice(tmp_path: Path, sshd: Sshd) -> None:
    ex = SshExecutor()
    h = host(sshd)
    marker = tmp_path / "ran"
    ex.run(h, "true", timeout=10, on_output=lambda _c: None, session="s")
    [entry] = ex._pool.values()
    transport = entry.conn.client.get_transport()
    # the command starts, then the connection dies under it
    cmd = f"echo once >> {marker}; sleep 1; echo late"
    killer = __import__("threading").Timer(0.5, lambda: transport.sock.close())
    killer.start()
    r = ex.run(h, cmd, timeout=10, on_output=lambda _c: None, session="s")
    killer.join()
    # the executor reconnected and followed the same command to its end: not sent again
    assert r.ok and r.tail.endswith("late\n"), r
    time.sleep(1.5)
    assert marker.read_text() == "once\n"
    ex.close_session("s")


def test_a_run_uses_one_session_and_closes_it(tmp_path: Path, sshd: Sshd, app: App) -> None:
    with health_server(app) as url:
        w = wired(tmp_path, service_config(app, url, [sshd.host("box-1"), sshd.host("box-2")]))
        ssh = w.executors["ssh"]
        run = deploy(w, "v2")
    assert run.state == RunState.SUCCEEDED, w.queries.steps(run.id)
    machine_steps = {s.step_id for s in w.queries.steps(run.id) if s.host == "box-1"}
    assert len(machine_steps) >= 4
    assert ssh.opened == 2  # one connection per host for all its steps
    assert ssh._pool == {}  # closed when the run ended


def test_a_cancel_before_the_group_id_arrived_still_learns_it() -> None:
    """On a busy link the cancel can come before the `chatops-pid` line was read: the
    executor waits for it, so the remote group can be killed (a CI run once left it alive)."""
    from chatops.engine.redact import Redactor
    from chatops.executors.capture import Capture
    from chatops.executors.ssh_job import _await_pid, _Channel

    class SlowChannel:
        def __init__(self) -> None:
            self.answers: list[bytes | None] = [None, None, b"chatops-pid:4242\nhello\n"]

        def recv(self, _n: int) -> bytes:
            got = self.answers.pop(0)
            if got is None:
                raise TimeoutError
            return got

    seen: list[str] = []
    ch = _Channel(SlowChannel(), Capture(Redactor(), seen.append))  # type: ignore[arg-type]
    _await_pid(ch)
    ch.cap.close()
    assert ch.marker.pid == 4242 and "".join(seen) == "hello\n" and ch.received == 6
