"""The Fabric Connection the SSH executor opens, and what it tells of the host's key."""

from __future__ import annotations

import base64
import hashlib

from fabric import Connection

__all__ = ["HostConnection", "fingerprint"]


def fingerprint(conn: Connection) -> str:
    """The SHA256 fingerprint of the key the host showed (as `ssh-keygen -l` prints it)."""
    transport = conn.client.get_transport()
    if transport is None or not transport.is_active():
        return "unreadable (the connection is closed)"
    raw = transport.get_remote_server_key().asbytes()
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


class HostConnection(Connection):  # type: ignore[misc]
    """A Connection that also closes the bastion's connection it came through (Fabric
    leaves a gateway open), and sets its attributes without invoke's listing."""

    def close(self) -> None:
        super().close()
        if isinstance(self.gateway, Connection):
            self.gateway.close()

    def __setattr__(self, key: str, value: object) -> None:
        # invoke's DataProxy lists dir(self) on every attribute set, to tell an attribute
        # from a config key: fifteen times a Connection, a tenth of a step's controller CPU
        # on hundreds of hosts. The same test, without listing everything:
        if key in self.__dict__ or hasattr(type(self), key):
            object.__setattr__(self, key, value)
        else:
            super().__setattr__(key, value)
