"""What went wrong opening an SSH connection, in words an on-call engineer can act on:
which host (or which bastion on the way), and what it did."""

from __future__ import annotations

import errno
import socket

import paramiko

from chatops.engine.domain.result import Outcome
from chatops.engine.planning.inventory import Host, JumpHost

__all__ = ["NoBanner", "ViaBastion", "classify", "unreachable", "where"]


class NoBanner(paramiko.SSHException):
    """The port took the connection and never said it is an SSH server."""


class ViaBastion(Exception):
    """The bastion a host is reached through could not be: `cause` says why."""

    def __init__(self, jump: JumpHost, cause: BaseException) -> None:
        super().__init__(f"via {jump.name}: {cause}")
        self.jump = jump
        self.cause = cause


def where(host: Host | JumpHost) -> str:
    return f"{host.name} ({host.address}:{host.port})"


def unreachable(host: Host | JumpHost, exc: BaseException) -> str:
    """What happened, in words an on-call engineer can act on."""
    if isinstance(exc, NoBanner):
        return f"{where(host)}: no SSH banner within {host.connect_timeout:g} s"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        codes = {getattr(e, "errno", None) for e in exc.errors.values()}
        if codes <= {errno.ECONNREFUSED}:
            return f"{where(host)}: connection refused"
        first = next(iter(exc.errors.values()))
        return f"{where(host)}: {getattr(first, 'strerror', None) or first}"
    if isinstance(exc, socket.gaierror):  # DNS: the most common typo in an inventory
        return f"{where(host)}: name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"{where(host)}: no answer within {host.connect_timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{where(host)}: {exc.strerror}"
    if isinstance(exc, EOFError):
        return f"{where(host)}: the connection was closed"
    if isinstance(exc, paramiko.ChannelException):  # the bastion's forward was refused
        return f"{where(host)}: its bastion could not or would not connect to it ({exc})"
    return f"{where(host)}: {exc}"


def classify(exc: BaseException, host: Host | JumpHost) -> tuple[Outcome, str]:
    if isinstance(exc, ViaBastion):  # the bastion's hop failed: say so, in its words
        outcome, said = classify(exc.cause, exc.jump)
        return outcome, f"through bastion {said}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return "host_key_mismatch", (
            f"{where(host)}: host key mismatch: the server's key differs from known_hosts"
        )
    if isinstance(exc, paramiko.AuthenticationException):
        return "auth_failed", f"authentication failed: {exc}"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return "host_key_unknown", (
            f"{where(host)}: host key unknown: add it to the configured known_hosts"
        )
    if isinstance(exc, OSError | paramiko.SSHException | EOFError):
        return "unreachable", unreachable(host, exc)
    return "error", repr(exc)
