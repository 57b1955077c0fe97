"""Fixtures of the integration tests: the CLI rig's demo app and environment (tests/cli_rig.py)."""

from tests.cli_rig import app, env  # noqa: F401 (fixtures, found by name)
