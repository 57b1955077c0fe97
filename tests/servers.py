"""Real servers for the tests: OpenSSH's sshd and PostgreSQL, on loopback, thrown away after."""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


# Ports for servers in other processes (sshd, PostgreSQL, `chatops serve`) are picked
# below the kernel's ephemeral range (32768-60999 here): a port from there, free when
# picked, was at times taken by an outgoing connection, or another worker's server, before
# the server bound it. Each xdist worker picks from a block of its own.
_BLOCK = 1500
_FIRST = 20000


def free_port() -> int:
    """A loopback port free now, from this worker's own block below the ephemeral range."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    low = _FIRST + (index % 8) * _BLOCK
    for _ in range(200):
        port = random.randrange(low, low + _BLOCK)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{low + _BLOCK - 1}")


def wait_port(port: int, timeout: float = 20.0, address: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {address}:{port}")


@dataclass
class Sshd:
    """A real sshd. `bin` is first on its sessions' PATH: tests put stand-in tools there."""

    port: int
    user: str
    key_file: Path
    known_hosts: Path
    host_pub: str
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    config: Path | None = None
    address: str = "127.0.0.1"

    def kill_sessions(self) -> None:
        """Kill the sshd children serving connections (the listener stays)."""
        assert self.proc is not None
        subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)

    def stop(self) -> None:
        """The listener and every session gone: the host is unreachable (the listener goes
        first, so nothing can connect again between the two)."""
        assert self.proc is not None
        found = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        self.proc.kill()
        self.proc.wait(timeout=10)
        for pid in found:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)

    def start(self) -> None:
        """The listener back on the same port, with the same keys."""
        assert self.config is not None
        self.proc = _start_sshd(self.config)
        wait_port(self.port, address=self.address)

    @property
    def bin(self) -> Path:
        return self.workdir / "bin"

    def tool(self, name: str, script: str) -> Path:
        """Install a stand-in command (a shell script) on the server's PATH."""
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)
        return path

    def host(self, name: str = "box-1", **over: object) -> dict[str, object]:
        d: dict[str, object] = {
            "name": name,
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "key_file": str(self.key_file),
            "known_hosts": str(self.known_hosts),
            "connect_timeout": 5,
        }
        d.update(over)
        return d


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True
    )


@contextmanager
def run_sshd(
    address: str = "127.0.0.1", extra: str = "", max_startups: str = "100:30:200"
) -> Iterator[Sshd]:
    """sshd -D on a free loopback port with its own host key and authorized_keys (`extra`:
    more sshd_config lines)."""
    work = Path(tempfile.mkdtemp(prefix="chatops-sshd-"))
    os.chmod(work, 0o755)
    _keygen(work / "host_key", "host")
    _keygen(work / "client_key", "client")
    auth = work / "authorized_keys"
    shutil.copy(work / "client_key.pub", auth)
    os.chmod(auth, 0o644)  # public keys; sshd reads it as the user logging in
    port = free_port()
    user = (
        os.environ.get("USER")
        or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    )
    cfg = work / "sshd_config"
    cfg.write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {work / 'host_key'}\n"
        f"AuthorizedKeysFile {auth}\nPidFile {work / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        f"MaxStartups {max_startups}\nMaxSessions 50\nLogLevel ERROR\n"
        "Subsystem sftp internal-sftp\n"
        # stand-in service managers (pm2, systemctl) come first on the sessions' PATH;
        # SHLVL=1 keeps bash from sourcing the login's ~/.bashrc for every session (sshd
        # accepts one SetEnv line: the first one wins)
        f"SetEnv PATH={work / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        " SHLVL=1\n" + extra
    )
    (work / "bin").mkdir()
    os.chmod(work / "bin", 0o755)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    server = Sshd(
        port, user, work / "client_key", work / "known_hosts", "", work, None, cfg, address
    )
    server.proc = _start_sshd(cfg)
    try:
        wait_port(port, address=address)
        host_pub = (work / "host_key.pub").read_text().split()
        server.known_hosts.write_text(f"[{address}]:{port} {host_pub[0]} {host_pub[1]}\n")
        server.host_pub = f"{host_pub[0]} {host_pub[1]}"
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.terminate()
            server.proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _start_sshd(cfg: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("initdb")
    return Path(exe).parent if exe else None


@dataclass
class Postgres:
    """A throwaway cluster that a test may stop and start again (a database outage)."""

    bindir: Path
    data: Path
    work: Path
    port: int
    prefix: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/chatops"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.work / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", opts, "-l", str(self.work / "pg.log"), "-w", "start")
        wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")


@contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """A throwaway cluster in a temp dir; as root it runs as the postgres user."""
    bindir = pg_bindir()
    assert bindir is not None
    root = os.geteuid() == 0
    work = Path(tempfile.mkdtemp(prefix="chatops-pg-"))
    data, sock = work / "data", work / "sock"
    sock.mkdir()
    if root:
        shutil.chown(work, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    pg = Postgres(bindir, data, work, free_port(), prefix)
    pg.start()
    try:
        subprocess.run(
            [
                *prefix,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "chatops",
            ],
            check=True,
            capture_output=True,
        )
        yield pg
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def run_postgres() -> Iterator[str]:
    """A throwaway cluster's URL (see postgres_cluster)."""
    with postgres_cluster() as pg:
        yield pg.url
