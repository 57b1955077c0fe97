"""schemathesis, run from the OpenAPI document the agent gets with its token, against the
real /api/v1 on loopback: every input the document allows gets a documented answer (never
a 500, never an undocumented status or content type, a body that matches its schema) and is
accepted, proposals included: the document types each runbook's parameters and questions
for this deployment and this agent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import schemathesis
except ImportError:  # under CI a missing part is a failure, never a skip
    if os.environ.get("CI") == "true":
        raise
    pytest.skip(
        "install the dev extra: pip install -e '.[dev]' (schemathesis)", allow_module_level=True
    )
from hypothesis import HealthCheck, given, settings

from tests.agent_rig import AgentRig, agent_rig
from tests.servers import Sshd


@pytest.fixture
def rig(tmp_path: Path, sshd: Sshd) -> Iterator[AgentRig]:
    # not drained at the end: the plans' posts wait on Slack's one-a-second per channel,
    # and what Slack shows is not what this test is about
    limits = {"requests_per_minute": 6000, "burst": 1000}
    with agent_rig(tmp_path, sshd, limits, drain=False) as r:
        r.add("architect-agent", "architect")
        yield r


def test_every_documented_input_gets_a_documented_answer(rig: AgentRig) -> None:
    token = rig.tokens["architect-agent"]
    status, doc, _ = rig.api("GET", "/openapi.json", token)
    assert status == 200
    schema = schemathesis.openapi.from_dict(doc)
    base = f"{rig.slack.url}/api/v1"
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=30 if operation.path == "/plans" else 15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            if case.query and "wait" in case.query:
                case.query["wait"] = 0  # a long poll answers at once: the suite keeps moving
            case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {token}"})

        check()  # raises schemathesis's report of what it found
