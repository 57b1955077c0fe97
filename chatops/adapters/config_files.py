"""Load the config file and the runbooks; every error names the file, the line and the key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chatops.engine.planning.config import Config
from chatops.engine.planning.runbook import BUILTIN_NAMES, Runbook
from chatops.errors import ConfigError

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(path), [f"cannot read: {e.strerror or e}"]) from None
    loader = LOADER(text)  # one pass: the node (for line numbers) and the data built from it
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(str(path), [f"{where}not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()
    return data, node


def _line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def problems(err: ValidationError, node: yaml.Node | None) -> list[str]:
    out = []
    for e in err.errors():
        # drop pydantic's union-branch tags (e.g. 'pm2' in a discriminated union)
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.endswith("]")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line(node, loc)
        where = f"line {line}: " if line else ""
        msg = e["msg"].removeprefix("Value error, ")
        out.append(f"{where}{key}: {msg}")
    return out


M = TypeVar("M", bound=BaseModel)


def _validate(
    model: type[M], data: Any, path: Path, node: yaml.Node | None, context: Any = None
) -> M:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        raise ConfigError(str(path), problems(e, node)) from None


def load_config(path: Path) -> Config:
    data, node = _read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), ["the top level must be a mapping (services:, roles:, ...)"])
    return _validate(Config, data, path, node)


def load_runbook(path: Path) -> Runbook:
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), ["a runbook must be a mapping (kind:, title:, steps:, ...)"])
    data = {"name": path.stem, **data}
    if data["name"] != path.stem:
        raise ConfigError(
            str(path), [f"name: {data['name']!r} must match the file name {path.stem!r}"]
        )
    params = data.get("parameters")
    names = BUILTIN_NAMES | (set(params) if isinstance(params, dict) else set())
    return _validate(Runbook, data, path, node, {"names": names})


#: The runbooks chatops ships: the seven processes and their fix paths.
PACKAGED = Path(__file__).resolve().parents[1] / "runbooks"  # chatops/runbooks
DEFAULT_DIR = Path("commands")


def runbooks_dir(directory: Path) -> Path:
    """Where the runbooks are: the folder given; when that is the default ./commands and it
    does not exist (an installed chatops, run anywhere), the set shipped in the package.
    `chatops init` copies that set into ./commands for editing."""
    if directory == DEFAULT_DIR and not directory.is_dir():
        return PACKAGED
    return directory


def load_runbooks(directory: Path) -> dict[str, Runbook]:
    directory = runbooks_dir(directory)
    if not directory.is_dir():
        raise ConfigError(
            str(directory),
            ["runbook directory not found (set CHATOPS_COMMANDS, or unset it for the shipped set)"],
        )
    books: dict[str, Runbook] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml")):
        try:
            rb = load_runbook(path)
        except ConfigError as e:
            errors.extend(f"{e.source}: {p}" for p in e.problems)
            continue
        books[rb.name] = rb
    if errors:
        raise ConfigError(str(directory), errors)
    if not books:
        raise ConfigError(str(directory), ["no runbooks (*.yml) found"])
    return books


def secret_values(config: Config) -> list[str]:
    """Values of the secrets the config names (environment variables and files)."""
    values = [os.environ[name] for name in config.secrets.env if os.environ.get(name)]
    for f in config.secrets.files:
        try:
            values.append(Path(f).expanduser().read_text(encoding="utf-8").strip())
        except OSError:
            continue
    return [v for v in values if v]


def load_config_or_empty(path: Path) -> Config:
    """The config file; a clear error when there is none."""
    if not path.exists():
        raise ConfigError(
            str(path),
            [
                "config file not found: `chatops init` writes one for a demo service, "
                "or set CHATOPS_CONFIG / --config"
            ],
        )
    return load_config(path)
