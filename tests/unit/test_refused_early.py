"""Which failed SSH connects are worth trying again: a server that dropped the connection
before its greeting (sshd past MaxStartups) is; a port that never greets is not, however
paramiko words it (the cause tells them apart, not the message)."""

from __future__ import annotations

import paramiko

from chatops.executors.pacing import refused_early


def raised(outer: Exception, inner: BaseException) -> Exception:
    """`outer` raised while handling `inner`, as paramiko's banner check does."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer
    except Exception as e:
        return e


def test_a_banner_cut_short_is_tried_again() -> None:
    e = raised(paramiko.SSHException("Error reading SSH protocol banner"), EOFError())
    assert refused_early(e)
    assert refused_early(ConnectionResetError(104, "Connection reset by peer"))


def test_a_banner_that_never_came_is_not_tried_again() -> None:
    e = raised(paramiko.SSHException("Error reading SSH protocol banner"), TimeoutError())
    assert not refused_early(e)
    assert not refused_early(TimeoutError())


def test_a_refusal_or_a_wrong_key_is_not_tried_again() -> None:
    assert not refused_early(ConnectionRefusedError(111, "Connection refused"))
    assert not refused_early(paramiko.AuthenticationException("Authentication failed."))
