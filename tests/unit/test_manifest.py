"""manifest.yml is a valid Slack app manifest (v1) with what the app needs and no more."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "data" / "manifest.schema.1.0.0.json").read_text())


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


def errors(doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_manifest_is_valid_against_slacks_schema(manifest: dict[str, Any]) -> None:
    assert errors(manifest) == []


def test_the_schema_check_catches_mistakes(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["settings"]["interactivity"]["is_enabled"] = "yes"
    del broken["display_information"]["name"]
    assert len(errors(broken)) >= 2


def test_commands_events_and_scopes(manifest: dict[str, Any]) -> None:
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/change", "/hotfix", "/logs", "/status", "/freeze", "/unfreeze"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "app_home_opened",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "chat:write",
        "commands",
        "files:write",
        "usergroups:read",
    ]
