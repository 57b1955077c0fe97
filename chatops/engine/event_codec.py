"""Events to JSON and back, for the outbox (and for agents that follow the stream).

The shape is `{"type": "StepFinished", "data": {...}}`; `data` holds the dataclass's fields,
nested records as objects, times in ISO 8601, enums by value. Decoding reads the field
types, so a stored event comes back as the same frozen dataclass it was.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from chatops.engine.domain import events as ev

__all__ = ["KINDS", "decode", "encode", "kind_named", "kind_of"]

KINDS: dict[str, type[ev.Event]] = {
    cls.__name__: cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event
}


def kind_named(cls: type[ev.Event]) -> str:
    """The name the outbox stores events of this type under (its `kind` column)."""
    return cls.__name__


def kind_of(event: ev.Event) -> str:
    return kind_named(type(event))


def encode(event: ev.Event) -> str:
    return json.dumps({"type": kind_of(event), "data": _plain(event)}, separators=(",", ":"))


def decode(text: str) -> ev.Event:
    raw = json.loads(text)
    cls = KINDS.get(raw.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {raw.get('type')!r}")
    event = _build(cls, raw["data"])
    assert isinstance(event, ev.Event)
    return event


def _plain(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any]) -> object:
    hints = _hints(cls)
    kwargs = {
        f.name: _value(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def _value(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _value(options[0], raw) if len(options) == 1 else raw
    if origin is tuple:
        (item, *_) = typing.get_args(tp)
        return tuple(_value(item, v) for v in raw)
    if origin is dict:
        _, item = typing.get_args(tp)
        return {k: _value(item, v) for k, v in raw.items()}
    if origin is typing.Literal:
        return raw
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _build(tp, raw)
        if issubclass(tp, Enum):
            return tp(raw)
        if issubclass(tp, datetime):
            return datetime.fromisoformat(raw)
    return raw
