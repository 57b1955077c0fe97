"""The Fabric Connection the SSH executor opens, its socket, and what it tells of the host's
key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket

import paramiko
from fabric import Connection

__all__ = ["READER_WAKE", "HostConnection", "fingerprint", "tune"]

# how often an idle connection's reader thread wakes (paramiko's own: 0.1 s, which made 500
# open connections, a step's or warm ones, cost an eighth of a core doing nothing)
READER_WAKE = 1.0


def fingerprint(conn: Connection) -> str:
    """The SHA256 fingerprint of the key the host showed (as `ssh-keygen -l` prints it)."""
    transport = conn.client.get_transport()
    if transport is None or not transport.is_active():
        return "unreadable (the connection is closed)"
    raw = transport.get_remote_server_key().asbytes()
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


class HostConnection(Connection):  # type: ignore[misc]
    """A Connection that also closes the bastion's connection it came through (Fabric
    leaves a gateway open), closes its own at once, and never writes to the Config it is
    given (shared)."""

    def close(self) -> None:
        # shut down first: paramiko only closes the socket, and the transport's reader,
        # waiting on it, keeps it open (no FIN to the host) until its wait ends
        transport = self.client.get_transport()
        sock = getattr(transport, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        super().close()
        if isinstance(self.gateway, Connection):
            self.gateway.close()

    def __setattr__(self, key: str, value: object) -> None:
        # Every attribute is the Connection's own. invoke's DataProxy turns a set of a name
        # that is not a class attribute into a write to the config (Fabric's
        # `inline_ssh_env` is one), and the executor's connections share one Config: a
        # write from one thread while another reads it made that read fail. It also lists
        # dir(self) on every set (fifteen times a Connection: a tenth of a step's
        # controller CPU on hundreds of hosts).
        object.__setattr__(self, key, value)


def tune(transport: paramiko.Transport) -> None:
    """An open connection's socket: small SSH packets sent at once (with Nagle's algorithm,
    opening a channel on a kept connection waited ~40 ms for a delayed ACK: a run's later
    steps paid it on every host), and its reader woken every READER_WAKE when nothing comes
    (data, a close, a keepalive due still wake it in time: keepalives are 30 s apart)."""
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(READER_WAKE)
