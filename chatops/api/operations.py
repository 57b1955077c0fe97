"""The agents' operations, declared once: what each is called, what the gate audits and
limits it as, its HTTP face (method, path, parameters, body, answers) and its MCP face (the
tool's name, title, description and hints, as clients read them to ask before a call).

The HTTP routes (`api/http.py`), the OpenAPI document (`api/openapi.py`) and the MCP tools
(`api/mcp_<concern>.py`) are made from this table; a test holds the three to it. A new agent
operation is one entry here, a handler in `Api`, and a tool in an `api/mcp_<concern>.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chatops.api.models import Done, Proposal
from chatops.engine.agents.gate import MAX_ID
from chatops.engine.domain.run import RunState

__all__ = ["OPERATIONS", "TOOLS", "Http", "Operation", "Param", "Tool", "parameters", "tool"]

Json = dict[str, Any]

SERVICE_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"}
STEP_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$"}


@dataclass(frozen=True)
class Param:
    """A parameter of the path or of the query string."""

    name: str
    schema: Json
    description: str = ""
    path: bool = False

    def openapi(self) -> Json:
        if self.path:
            return {"name": self.name, "in": "path", "required": True, "schema": self.schema}
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": self.schema,
            "description": self.description,
        }


@dataclass(frozen=True)
class Http:
    """An operation's HTTP face under /api/v1."""

    method: str
    path: str  # as OpenAPI writes it: /runs/{run_id}
    summary: str
    answers: str  # what a success carries
    errors: tuple[str, ...]
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    status: int = 200

    @property
    def route(self) -> str:
        """The path as the router reads it (a run id is a number)."""
        return self.path.replace("{run_id}", "{run_id:int}")


@dataclass(frozen=True)
class Tool:
    """An operation's face as an MCP tool."""

    name: str
    title: str
    description: str
    read: bool
    destructive: bool = False
    idempotent: bool = True


@dataclass(frozen=True)
class Operation:
    key: str  # its handler in `Api`
    op: str  # what the gate audits and rate-limits it as
    http: Http | None
    tools: tuple[Tool, ...] = ()


RUN_ID = Param("run_id", {"type": "integer"}, path=True)
SERVICE = Param("service", SERVICE_NAME, path=True)
ENV = Param("environment", {"type": "string"}, "production unless given")
WAIT = Param(
    "wait",
    {"type": "number", "minimum": 0},
    "Long-poll: seconds to wait (capped by the server's agents.max_wait).",
)


def logs_params(max_lines: int) -> tuple[Param, ...]:
    """`/logs`'s parameters; `max_lines` is the config's `policies.logs_max_lines`."""
    return (
        SERVICE,
        ENV,
        Param("lines", {"type": "integer", "minimum": 1, "maximum": max_lines}, "default 200"),
        Param("since", {"type": "string", "pattern": "^[1-9][0-9]{0,3}[smhd]$"}, "e.g. 1h"),
        Param(
            "grep",
            {"type": "string", "pattern": "^[ -~]{1,200}$"},
            "a fixed string (printable, at most 200)",
        ),
        Param("host", SERVICE_NAME, "one host of the service"),
        Param("stream", {"enum": ["out", "err", "all"]}, "default all"),
    )


#: A call of wait_for_decision returns by then, pending or not: MCP clients end a tool call
#: after about 60 s, and a call that ended so must never look like a failure (or approval).
MAX_CALL_WAIT = 45.0

ME = Operation(
    "me",
    "me",
    Http("GET", "/me", "Who this token is: name, role, scope", "The agent", ("401",)),
)
RUNBOOKS = Operation(
    "runbooks",
    "runbooks",
    Http(
        "GET",
        "/runbooks",
        "The processes, and whether this agent may propose each (and why not)",
        "Runbooks",
        ("401", "429"),
    ),
    (
        Tool(
            "list_runbooks",
            "List the processes",
            "The processes (runbooks) and, for each, whether you may propose it and why "
            "not. Read this before proposing.",
            read=True,
        ),
    ),
)
SERVICES = Operation(
    "services",
    "services",
    Http("GET", "/services", "The services in this agent's scope", "Names", ("401",)),
    (Tool("list_services", "List the services", "The services you may act on.", read=True),),
)
STATUS = Operation(
    "status",
    "status",
    Http(
        "GET",
        "/services/{service}/status",
        "Service status (as /status): hosts, health, last success, active runs",
        "Status",
        ("400", "401", "403", "404", "429"),
        (SERVICE, ENV),
    ),
    (
        Tool(
            "service_status",
            "A service's status",
            "A service's status as /status shows it: per-host state, health check, last "
            "successful run, active runs, open post-mortems.",
            read=True,
        ),
    ),
)
LOGS = Operation(
    "logs",
    "logs",
    Http(
        "GET",
        "/services/{service}/logs",
        "Recent logs (as /logs, under the same policy: logs_roles)",
        "Log lines per host",
        ("400", "401", "403", "404", "429"),
        logs_params(2000),
    ),
    (
        Tool(
            "read_logs",
            "Read a service's logs",
            "Recent log lines of a service (as /logs, same policy). since like 30m/1h/2d; "
            "grep is a fixed string; stream out, err or all.",
            read=True,
        ),
    ),
)
PROPOSE = Operation(
    "propose",
    "propose",
    Http(
        "POST",
        "/plans",
        "Propose a change; people approve it in Slack",
        "The run and its plan",
        ("400", "401", "403", "404", "422", "429"),
        body=Proposal,
        status=201,
    ),
    (
        Tool(
            "propose_change",
            "Propose a change",
            "Propose a change: a process (see list_runbooks) with its parameters and a "
            "reason, and answers to its planning questions by id (list_runbooks names them; a "
            "required one left out is refused). People approve it in Slack; nothing runs "
            "before. Returns the run id: then wait_for_decision. on_behalf_of is the Slack user "
            "id of the person you act for.",
            read=False,
            destructive=True,
            idempotent=False,
        ),
        Tool(
            "propose_task",
            "Propose an Architect task",
            "Propose the Architect -> Coder task JSON (short: target_agent, task_id, "
            "objective, steps, validation; or the long form with payload). Steps written "
            "'[step-id] text' are the runbook's steps; others become people's steps of role "
            "coder. Task text never becomes a command. answers: the runbook's planning "
            "questions by id (a required one left out is refused). The task_id is your "
            "idempotency key: the same task again returns the same plan; a revised one "
            "replaces it before it runs. People approve it in Slack.",
            read=False,
            destructive=True,
        ),
    ),
)
RUNS = Operation(
    "runs",
    "runs",
    Http(
        "GET",
        "/runs",
        "Recent runs in scope, newest first",
        "Runs",
        ("400", "401", "429"),
        (
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "default 20"),
            Param(
                "state",
                {"type": "string", "enum": [x.value for x in RunState]},
                "repeatable; a run state",
            ),
            Param("mine", {"type": "boolean"}, "only the runs this agent proposed"),
        ),
    ),
    (
        Tool(
            "list_runs",
            "List runs",
            "Recent runs you may see, newest first; mine=true for your own.",
            read=True,
        ),
    ),
)
READ = Operation(
    "run",
    "read",
    Http(
        "GET",
        "/runs/{run_id}",
        "A run: state, decision, plan, per-host step results with output tails",
        "The run",
        ("401", "403", "404", "429"),
        (RUN_ID,),
    ),
    (
        Tool(
            "get_run",
            "Read a run",
            "A run: its state and decision, the plan (steps, commands, approvals), and "
            "per-host step results with output tails.",
            read=True,
        ),
    ),
)
WAIT_FOR = Operation(
    "decision",
    "wait",
    Http(
        "GET",
        "/runs/{run_id}/decision",
        "Wait for the decision: approved, rejected (with the reason), expired, "
        "cancelled, or still pending. A wait that runs out is pending, never approved.",
        "The decision",
        ("400", "401", "403", "404", "429"),
        (RUN_ID, WAIT),
    ),
    (
        Tool(
            "wait_for_decision",
            "Wait for the decision",
            "Wait up to timeout_seconds in all for the people's decision on a run: "
            "approved, rejected (with the reason), expired, cancelled, or pending. One call "
            f"returns within {MAX_CALL_WAIT:g} s (progress is reported while it waits); while "
            "pending it returns a cursor: call again with it to go on waiting, counting on. "
            "pending is NOT approval, nor is a call that ended: wait again or stop.",
            read=True,
        ),
    ),
)
EVENTS = Operation(
    "events",
    "events",
    Http(
        "GET",
        "/runs/{run_id}/events",
        "The run's events after a position (the stream Slack follows)",
        "Events and next_after",
        ("400", "401", "403", "404", "429"),
        (
            RUN_ID,
            Param(
                "after",
                {"type": "integer", "minimum": 0, "maximum": MAX_ID - 1},
                "last position seen",
            ),
            WAIT,
        ),
    ),
    (
        Tool(
            "run_events",
            "Read a run's events",
            "A run's events after position `after` (approvals, steps, output, the end), "
            "waiting up to wait_seconds for the first. Pass next_after back to continue.",
            read=True,
        ),
    ),
)
MARK_DONE = Operation(
    "done",
    "mark_done",
    Http(
        "POST",
        "/runs/{run_id}/steps/{step}/done",
        "The Coder agent reports a coder step done, with evidence",
        "The run",
        ("400", "401", "403", "404", "409", "429"),
        (
            RUN_ID,
            Param("step", {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$"}, path=True),
        ),
        body=Done,
    ),
    (
        Tool(
            "mark_step_done",
            "Report a step done",
            "Coder agent only: report a people's step of role coder done in an approved "
            "run that waits on it, with evidence (what was done and how it was checked) and "
            "links. Gates and other roles' steps are for people.",
            read=False,
            destructive=True,
            idempotent=False,
        ),
    ),
)
CANCEL = Operation(
    "cancel",
    "cancel",
    Http(
        "POST",
        "/runs/{run_id}/cancel",
        "Cancel a run this agent proposed",
        "The run",
        ("401", "403", "404", "409", "429"),
        (RUN_ID,),
    ),
    (
        Tool(
            "cancel_run",
            "Cancel a run",
            "Cancel a run you proposed (before or while it runs).",
            read=False,
            destructive=True,
        ),
    ),
)
LINK = Operation(
    "link",
    "read",
    Http(
        "GET",
        "/runs/{run_id}/link",
        "A link to the web page of a run this agent proposed, made for the "
        "agent and expiring (`url`, `expires_in` seconds); it opens while the agent's "
        "token is active",
        "The link",
        ("401", "403", "404", "429"),
        (RUN_ID,),
    ),
    (
        Tool(
            "run_link",
            "Link to a run's page",
            "A link to the web page of a run you proposed (the plan, every step's "
            "output, the audit rows), made for you and expiring; a person opens it only if it "
            "is theirs, so give people their own View run button in Slack instead.",
            read=True,
        ),
    ),
)

#: In the document's order.
OPERATIONS: tuple[Operation, ...] = (
    ME,
    RUNBOOKS,
    SERVICES,
    STATUS,
    LOGS,
    PROPOSE,
    RUNS,
    READ,
    WAIT_FOR,
    EVENTS,
    MARK_DONE,
    CANCEL,
    LINK,
)
#: Every MCP tool by name.
TOOLS: dict[str, Tool] = {t.name: t for o in OPERATIONS for t in o.tools}


def tool(name: str) -> Tool:
    return TOOLS[name]


def parameters(http: Http, max_lines: int) -> tuple[Param, ...]:
    """An operation's parameters in this deployment: `/logs`'s lines are capped by the
    config's `policies.logs_max_lines`."""
    return logs_params(max_lines) if http is LOGS.http else http.params
