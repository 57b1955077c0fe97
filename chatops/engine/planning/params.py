"""Typed request parameters, validated against allow-lists and strict patterns.

Every value that reaches a command passes through here first, and is shell-quoted after.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatops.engine.planning.config import Config
from chatops.errors import ParameterError

__all__ = [
    "GIT_REF_RE",
    "SAFE_TEXT_RE",
    "ParamType",
    "Parameter",
    "as_text",
    "parse_assignments",
    "service_first",
    "unknown_service",
    "validate_params",
]

GIT_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
SAFE_TEXT_RE = re.compile(r"^[^\x00-\x08\x0b-\x1f\x7f]*$")

ParamType = Literal["service", "environment", "git_ref", "path", "choice", "string", "int", "bool"]


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParamType
    help: str = ""
    required: bool = True
    default: str | int | bool | None = None
    pattern: str | None = None
    choices: list[str] = []
    min: int | None = None
    max: int | None = None
    max_length: Annotated[int, Field(ge=1, le=4000)] = 200

    @model_validator(mode="after")
    def _shape(self) -> Parameter:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice parameter needs 'choices'")
        if self.type in ("path", "string") and not self.pattern:
            raise ValueError(f"a {self.type} parameter needs a 'pattern' (an allow-list)")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ValueError(f"'pattern' is not a valid regular expression: {e}") from e
            if not (self.pattern.startswith("^") and self.pattern.endswith("$")):
                raise ValueError("'pattern' must be anchored with ^ and $")
        return self


def validate_params(
    spec: dict[str, Parameter], given: dict[str, str], config: Config
) -> dict[str, str | int | bool]:
    """Check request values against the runbook's parameters; return typed values."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        known = ", ".join(sorted(spec)) or "none"
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; this runbook takes: {known}"
        )
    out: dict[str, str | int | bool] = {}
    # service first: environment choices depend on it
    for name in sorted(spec, key=lambda n: (spec[n].type != "service", n)):
        p = spec[name]
        raw = given.get(name)
        if raw is None or raw == "":
            if p.default is not None:
                out[name] = p.default
                if p.type == "environment":
                    _environment(name, str(p.default), out, spec, config)
                continue
            if p.required:
                raise ParameterError(f"missing parameter {name}=… ({p.type}{_hint(p, config)})")
            continue
        out[name] = _coerce(name, p, raw, out, spec, config)
    return out


def _hint(p: Parameter, config: Config) -> str:
    if p.type == "service":
        return ": one of " + ", ".join(sorted(config.services)) if config.services else ""
    if p.choices:
        return ": one of " + ", ".join(p.choices)
    if p.help:
        return ": " + p.help
    return ""


def _coerce(
    name: str,
    p: Parameter,
    raw: str,
    done: dict[str, str | int | bool],
    spec: dict[str, Parameter],
    config: Config,
) -> str | int | bool:
    if len(raw) > p.max_length:
        raise ParameterError(f"{name} is longer than {p.max_length} characters")
    if not SAFE_TEXT_RE.match(raw):
        raise ParameterError(f"{name} contains control characters")
    match p.type:
        case "service":
            if raw not in config.services:
                raise ParameterError(
                    f"unknown service {raw!r}; known services: {', '.join(sorted(config.services))}"
                )
            return raw
        case "environment":
            return _environment(name, raw, done, spec, config)
        case "git_ref":
            if not GIT_REF_RE.fullmatch(raw) or ".." in raw or raw.endswith((".lock", "/", ".")):
                raise ParameterError(
                    f"{name}={raw!r} is not a git ref (letters, digits, . _ / -; "
                    "no leading '-', no '..')"
                )
            return raw
        case "path":
            assert p.pattern is not None
            parts = raw.split("/")
            if raw.startswith("/") or ".." in parts or not re.fullmatch(p.pattern, raw):
                raise ParameterError(f"{name}={raw!r} does not match {p.pattern}")
            return raw
        case "string":
            assert p.pattern is not None
            if not re.fullmatch(p.pattern, raw):
                raise ParameterError(f"{name}={raw!r} does not match {p.pattern}")
            return raw
        case "choice":
            if raw not in p.choices:
                raise ParameterError(f"{name}={raw!r} must be one of {', '.join(p.choices)}")
            return raw
        case "int":
            try:
                value = int(raw, 10)
            except ValueError:
                raise ParameterError(f"{name}={raw!r} is not a whole number") from None
            if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
                raise ParameterError(f"{name}={value} must be between {p.min} and {p.max}")
            return value
        case "bool":
            low = raw.lower()
            if low in ("yes", "true", "1", "on"):
                return True
            if low in ("no", "false", "0", "off"):
                return False
            raise ParameterError(f"{name}={raw!r} must be yes or no")
    raise ParameterError(f"{name}: unsupported type {p.type}")  # pragma: no cover


def _environment(
    name: str,
    raw: str,
    done: dict[str, str | int | bool],
    spec: dict[str, Parameter],
    config: Config,
) -> str:
    service_param = next((n for n, p in spec.items() if p.type == "service"), None)
    service = done.get(service_param) if service_param else None
    if not isinstance(service, str):
        raise ParameterError(f"{name} needs a service parameter to choose from")
    envs = config.services[service].environments
    if raw not in envs:
        raise ParameterError(
            f"service {service} has no environment {raw!r}; it has: {', '.join(sorted(envs))}"
        )
    return raw


def as_text(params: Mapping[str, object]) -> dict[str, str]:
    """Parameter values as a request gives them: text, booleans as true/false."""
    return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


def parse_assignments(words: list[str]) -> dict[str, str]:
    """Turn ['service=demo', 'ref=v1'] into a dict; reject anything else."""
    out: dict[str, str] = {}
    for w in words:
        key, sep, value = w.partition("=")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
            raise ParameterError(f"{w!r} is not key=value")
        if key in out:
            raise ParameterError(f"parameter {key} given twice")
        out[key] = value
    return out


def unknown_service(word: str, services: Collection[str]) -> ParameterError:
    """A bare word that names no service: the closest names, and how to write one."""
    known = sorted(services)
    close = difflib.get_close_matches(word, known, n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + " or ".join(f"service={c}" for c in close) + "?"
    else:
        hint = "write it as service=NAME."
    listed = ", ".join(known) if known else "none configured"
    return ParameterError(f"{word!r} is not a service I know: {hint} Known services: {listed}")


def service_first(words: list[str], services: Collection[str]) -> list[str]:
    """`deploy web ref=v2`: a bare first word names the service (it must be one)."""
    if words and "=" not in words[0]:
        if words[0] not in services:
            raise unknown_service(words[0], services)
        return [f"service={words[0]}", *words[1:]]
    return words
