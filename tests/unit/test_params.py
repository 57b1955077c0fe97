"""Parameters: allow-lists and strict patterns; every value is shell-quoted into commands."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatops.engine.planning.config import Config
from chatops.engine.planning.params import GIT_REF_RE, parse_assignments
from chatops.engine.planning.planner import build_plan
from chatops.engine.planning.runbook import Runbook
from chatops.engine.planning.templates import placeholders, render
from chatops.errors import ParameterError
from tests.factories import NOW

EVIL = [
    "v1;touch /tmp/pwned",
    "$(id)",
    "`id`",
    "v1 && reboot",
    "v1|sh",
    "-oProxyCommand=sh",
    "../../etc/passwd",
    "v1\nreboot",
    "v1'",
    'v1"',
    "a..b",
    "v1>x",
    "~root",
]


@pytest.mark.parametrize("ref", EVIL)
def test_git_ref_with_shell_metacharacters_is_refused(
    ref: str, runbooks: dict[str, Runbook], config: Config
) -> None:
    with pytest.raises(ParameterError) as e:
        build_plan(
            runbooks["deploy"],
            config,
            {"service": "eckwms-global", "ref": ref},
            requester="U",
            now=NOW,
        )
    assert "ref" in str(e.value)


@pytest.mark.parametrize(
    "script",
    [
        "scripts/../../x.js",
        "/etc/x.js",
        "scripts/a;b.js",
        "scripts/x.sh",
        "other/x.js",
        "scripts/$(id).js",
    ],
)
def test_script_path_must_match_its_pattern(
    script: str, runbooks: dict[str, Runbook], config: Config
) -> None:
    with pytest.raises(ParameterError):
        build_plan(
            runbooks["migration"],
            config,
            {"service": "eckwms-global", "script": script},
            requester="U",
            now=NOW,
        )


def test_unknown_service_names_the_known_ones(runbooks: dict[str, Runbook], config: Config) -> None:
    with pytest.raises(ParameterError) as e:
        build_plan(runbooks["deploy"], config, {"service": "eckwms"}, requester="U", now=NOW)
    assert "unknown service 'eckwms'" in str(e.value) and "eckwms-global" in str(e.value)


def test_unknown_environment_and_parameter(runbooks: dict[str, Runbook], config: Config) -> None:
    with pytest.raises(ParameterError, match="has no environment 'prod'"):
        build_plan(
            runbooks["deploy"],
            config,
            {"service": "eckwms-global", "environment": "prod"},
            requester="U",
            now=NOW,
        )
    with pytest.raises(ParameterError, match="unknown parameter"):
        build_plan(
            runbooks["deploy"],
            config,
            {"service": "eckwms-global", "cmd": "id"},
            requester="U",
            now=NOW,
        )
    with pytest.raises(ParameterError, match="missing parameter service"):
        build_plan(runbooks["deploy"], config, {}, requester="U", now=NOW)


def test_assignments_are_strict() -> None:
    assert parse_assignments(["service=a", "ref=b=c"]) == {"service": "a", "ref": "b=c"}
    for bad in (["service"], ["Service=a"], ["a=1", "a=2"], ["$(id)=1"]):
        with pytest.raises(ParameterError):
            parse_assignments(bad)


def test_templates_allow_only_plain_names() -> None:
    assert placeholders("cd {app_dir} && echo {{literal}} {ref}") == ["app_dir", "ref"]
    for bad in ("{ref.__class__}", "{ref[0]}", "{ref!r}", "{ref:>10}", "{0}"):
        with pytest.raises(ValueError):
            placeholders(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_rendered_values_stay_one_word(value: str) -> None:
    """Whatever a value holds, the shell sees it as exactly one argument, unchanged."""
    if "\x00" in value:
        return
    cmd = render("git checkout {ref} --", {"ref": value})
    assert shlex.split(cmd) == ["git", "checkout", value, "--"]


@settings(max_examples=300, deadline=None)
@given(st.from_regex(GIT_REF_RE, fullmatch=True))
def test_accepted_git_refs_cannot_be_options_or_traversals(ref: str) -> None:
    assert not ref.startswith("-")
    assert all(c.isalnum() or c in "._/-" for c in ref)
