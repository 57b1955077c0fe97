"""What a plan was approved against on each host, and how the hosts differ from it now.

At the quorum the engine reads, on each host of the plan, the facts its runbook names
(`drift:`): the app's git revision, the service's state from its manager, the host key the
host presents. Before the first machine step the runner reads them again; if any differs
it stops before touching a host and asks for a re-approval that shows the difference.
Facts live in the audit trail (`drift.recorded`, `drift.found`, `drift.reapproved`, their
detail the facts as JSON): what a run was approved against is evidence, kept with the rest.
"""

from __future__ import annotations

import json
from typing import Literal

__all__ = [
    "DRIFT_STEP",
    "FACT_NAMES",
    "FOUND",
    "REAPPROVED",
    "RECORDED",
    "Fact",
    "Facts",
    "differences",
    "facts_from",
    "facts_said",
    "facts_text",
]

Fact = Literal["revision", "service", "host_key"]
FACT_NAMES: tuple[Fact, ...] = ("revision", "service", "host_key")
Facts = dict[str, dict[str, str]]  # host -> fact -> value

#: The step a run waits at when its hosts changed since approval (a gate of the plan's
#: approvers: `Plan.step` knows it).
DRIFT_STEP = "drift"
RECORDED = "drift.recorded"  # read at the quorum (or, if it could not be, at the start)
FOUND = "drift.found"  # read before the first machine step, and different
REAPPROVED = "drift.reapproved"  # the hosts as found, approved: the new basis

#: How a change of each fact is said, from the host, the value then and the value now.
_SAID = {
    "revision": "{host} was at {was} when approved, is at {now} now",
    "service": "{host} service was {was} when approved, is {now} now",
    "host_key": "{host} host key was {was} when approved, is {now} now",
}


def facts_text(facts: Facts) -> str:
    return json.dumps(facts, sort_keys=True, separators=(",", ":"))


def facts_from(text: str) -> Facts:
    """Facts as an audit row's detail holds them; {} for anything else."""
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(h): {str(k): str(v) for k, v in got.items()}
        for h, got in raw.items()
        if isinstance(got, dict)
    }


def facts_said(facts: Facts) -> list[str]:
    """A plan's facts as its approvers read them, a line a host: "prod-1 at a1b2c3d4e5f6,
    service online, host key SHA256:..."; "prod-1: facts unknown (...)" when a host could not
    be read (the run then stops before its first command and asks again)."""
    out = []
    for host in sorted(facts):
        got = facts[host]
        unknown = [f"{n} {v}" for n, v in sorted(got.items()) if _unknown(v)]
        if unknown:
            out.append(f"{host}: facts unknown ({'; '.join(unknown)})")
            continue
        parts = []
        if "revision" in got:
            parts.append(f"at {_short('revision', got['revision'])}")
        if "service" in got:
            parts.append(f"service {got['service']}")
        if "host_key" in got:
            parts.append(f"host key {got['host_key'][:24]}")
        out.append(f"{host} {', '.join(parts)}")
    return out


def _unknown(value: str) -> bool:
    """A fact that could not be read (the host down, the command failing)."""
    return value == "not read" or value.startswith("unreadable")


def _short(name: str, value: str) -> str:
    if name == "revision" and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return value


def differences(approved: Facts, now: Facts) -> list[str]:
    """What differs, a line a fact, as a person reads it: "prod-1 was at a1b2c3d4e5f6 when
    approved, is at d4e5f6a1b2c3 now". A fact read now but not then (or then, not now)
    differs too: what cannot be compared is never taken as the same."""
    out = []
    for host in sorted(set(approved) | set(now)):
        was, is_ = approved.get(host, {}), now.get(host, {})
        for name in sorted(set(was) | set(is_)):
            a, b = was.get(name, "not read"), is_.get(name, "not read")
            if a != b:  # unknown then and known now differs: never a silent new basis
                said = _SAID.get(name, "{host} " + name + " was {was} when approved, is {now} now")
                out.append(said.format(host=host, was=_short(name, a), now=_short(name, b)))
    return out
