"""The proposal schema an agent's OpenAPI document carries: a branch per runbook it may
propose, parameters typed for this deployment. (The suite also runs schemathesis on it
against the real server: tests/e2e/test_api_schema.py.)"""

from __future__ import annotations

from typing import Any

import jsonschema

from chatops.api.proposal_schema import proposal_schema
from chatops.engine.planning.actions import unsupported
from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import Runbook
from tests.conftest import eck_config


def _config() -> Config:
    base = eck_config().model_dump(mode="json", exclude_none=True)
    eck = base["services"]["eckwms-global"]
    plain = {k: v for k, v in eck.items() if k != "database"}
    plain["environments"] = {"staging": eck["environments"]["staging"]}
    base["services"]["plain"] = plain  # no database, no production
    return Config.model_validate(base)


def _schema(runbooks: dict[str, Runbook], config: Config) -> dict[str, Any]:
    proposable = [
        (rb, [s for s, svc in sorted(config.services.items()) if not unsupported(svc, rb.steps)])
        for _, rb in sorted(runbooks.items())
    ]
    return proposal_schema(proposable, config)


def _valid(schema: dict[str, Any], body: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def deploy(**params: Any) -> dict[str, Any]:
    return {"process": "deploy", "reason": "ship it", "params": params}


def test_a_service_that_cannot_run_a_runbook_is_not_offered_for_it(
    runbooks: dict[str, Runbook],
) -> None:
    schema = _schema(runbooks, _config())
    answers = {q.id: "decided" for q in runbooks["migration"].questions}
    migrate = {"process": "migration", "reason": "orders table", "answers": answers}
    script = "scripts/m1.js"
    assert _valid(schema, {**migrate, "params": {"service": "eckwms-global", "script": script}})
    assert not _valid(schema, {**migrate, "params": {"service": "plain", "script": script}})
    assert _valid(schema, deploy(service="plain", environment="staging"))


def test_environments_are_the_services_own(runbooks: dict[str, Runbook]) -> None:
    schema = _schema(runbooks, _config())
    assert _valid(schema, deploy(service="eckwms-global"))  # production by default
    assert not _valid(schema, deploy(service="plain"))  # plain has no production
    assert not _valid(schema, deploy(service="plain", environment="production"))
    assert not _valid(schema, deploy(service="nosuch"))


def test_values_are_typed_as_the_server_reads_them(runbooks: dict[str, Runbook]) -> None:
    schema = _schema(runbooks, _config())
    svc = "eckwms-global"
    assert _valid(schema, deploy(service=svc, ref="release/2.1", install=False))
    assert _valid(schema, deploy(service=svc, install="no"))
    for ref in ("a..b", "-x", "v1.lock", "main/", "a b"):
        assert not _valid(schema, deploy(service=svc, ref=ref)), ref
    assert not _valid(schema, deploy(service=svc, install="maybe"))
    assert not _valid(schema, deploy(service=svc, colour="blue"))
    assert not _valid(schema, {**deploy(service=svc), "reason": "   "})


def test_required_questions_are_required_unless_the_request_answers_them(
    runbooks: dict[str, Runbook],
) -> None:
    schema = _schema(runbooks, _config())
    params = {"service": "eckwms-global", "script": "scripts/m1.js"}
    migrate = {"process": "migration", "reason": "orders table", "params": params}
    questions = runbooks["migration"].questions
    assert not _valid(schema, migrate)
    partly = {q.id: "x" for q in questions[1:]}
    assert not _valid(schema, {**migrate, "answers": partly})
    blank = {q.id: " " for q in questions}
    assert not _valid(schema, {**migrate, "answers": blank})
    hotfix = {"process": "hotfix", "reason": "checkout 500s", "params": {"service": "plain"}}
    asked = [q for q in runbooks["hotfix"].questions if q.required and not q.from_request]
    hotfix["answers"] = {q.id: "known" for q in asked}
    hotfix["params"] = {"service": "plain", "environment": "staging", "ref": "fix-1"}
    assert _valid(schema, hotfix)


def test_the_task_form_names_its_runbook(runbooks: dict[str, Runbook]) -> None:
    schema = _schema(runbooks, _config())
    task = {"task_id": "T-1", "objective": "Ship v2", "steps": ["[pull] pull", "check it"]}
    body = {"task": task, "params": {"service": "eckwms-global"}}
    assert _valid(schema, {**body, "process": "deploy"})
    assert not _valid(schema, body)  # which runbook?
    assert not _valid(schema, {**body, "process": "deploy", "task": {**task, "steps": []}})
    assert not _valid(schema, {**body, "process": "deploy", "task": {**task, "task_id": "a b"}})


def test_an_agent_that_may_propose_nothing_gets_a_schema_that_accepts_nothing() -> None:
    schema = proposal_schema([], _config())
    assert not _valid(schema, deploy(service="eckwms-global"))


def test_the_request_models_call_blank_what_the_document_calls_blank() -> None:
    """Evidence of a record separator alone passed the model's `\\S` and was then refused as
    empty (strip() drops it): schema-valid, answered 400. Model and document now agree."""
    import pydantic
    import pytest

    from chatops.api.models import Done
    from chatops.api.proposal_schema import NOT_BLANK

    document = {"type": "string", "pattern": NOT_BLANK}
    for blank in ("\x1e", "\x85", "\ufeff", " \t\n"):
        with pytest.raises(pydantic.ValidationError):
            Done(evidence=blank)
        assert not jsonschema.Draft202012Validator(document).is_valid(blank)
    for said in ("ok", "привет", "\x1a"):
        assert Done(evidence=said).evidence == said
        assert jsonschema.Draft202012Validator(document).is_valid(said)
