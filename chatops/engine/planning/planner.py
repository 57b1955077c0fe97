"""Render a runbook, validated parameters and the planning answers into a Plan."""

from __future__ import annotations

import secrets
from datetime import datetime

from chatops.engine.planning.actions import action_command
from chatops.engine.planning.approval_rules import approval_for
from chatops.engine.planning.config import Config
from chatops.engine.planning.drift import FACT_NAMES, Fact
from chatops.engine.planning.inventory import Service
from chatops.engine.planning.params import validate_params
from chatops.engine.planning.plan import HostCommand, HttpCheck, Plan, PlannedStep
from chatops.engine.planning.rolling import expand
from chatops.engine.planning.runbook import Command, Runbook, Step
from chatops.engine.planning.starts import Start, resolve_start
from chatops.engine.planning.templates import quote, render
from chatops.errors import ConfigError, ParameterError

__all__ = ["build_plan", "new_task_id"]


def new_task_id(runbook: str, now: datetime) -> str:
    """Unique among requests made in the same second: 32 random bits (16 collided about
    once in 300 bursts of 20 requests, and the second plan was refused)."""
    return f"{runbook}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def _param_of_type(runbook: Runbook, params: dict[str, str | int | bool], kind: str) -> str | None:
    """The value of the runbook's parameter of this type (the service, the environment)."""
    return next(
        (str(params[n]) for n, p in runbook.parameters.items() if p.type == kind and n in params),
        None,
    )


def build_plan(
    runbook: Runbook,
    config: Config,
    raw_params: dict[str, str],
    *,
    requester: str,
    now: datetime,
    request: str = "",
    answers: dict[str, str] | None = None,
    task_id: str | None = None,
) -> Plan:
    raw_params = dict(raw_params)
    asked_at, window = raw_params.pop("start_at", ""), raw_params.pop("window", "")
    params = validate_params(runbook.parameters, raw_params, config)
    answers = dict(answers or {})
    _check_answers(runbook, answers)
    for q in runbook.questions:
        if q.from_request and request.strip() and not answers.get(q.id, "").strip():
            answers[q.id] = request.strip()
    task_id = task_id or new_task_id(runbook.name, now)
    service_name = _param_of_type(runbook, params, "service")
    env_name = _param_of_type(runbook, params, "environment")
    svc = config.services[service_name] if service_name else None
    if svc is not None and env_name is None:
        env_name = sorted(svc.environments)[0]
    base = _context(service_name, env_name, svc, params, now, task_id)
    start = _start(runbook, config, env_name, asked_at, window, now)

    def plan_step(step: Step) -> PlannedStep | None:
        if step.when is not None and not params.get(step.when):
            return None
        try:
            return _render_step(step, service_name, env_name, svc, base)
        except ConfigError:
            if step.optional:  # the service does not define this action: leave the step out
                return None
            raise

    steps = expand([p for s in runbook.steps if (p := plan_step(s)) is not None], runbook.rolling)
    rollback = [p for s in runbook.rollback if (p := plan_step(s)) is not None]
    objective = request.strip() or f"{runbook.title}: {service_name or ''} {env_name or ''}".strip()
    hosts = {c.host for s in [*steps, *rollback] for c in s.commands}
    approval, why = approval_for(runbook, config, env_name, len(hosts))
    return Plan(
        task_id=task_id,
        runbook=runbook.name,
        kind=runbook.kind,
        title=runbook.title,
        objective=objective[:500],
        target_agent=runbook.target_agent,
        service=service_name,
        environment=env_name,
        params=params,
        requester=requester,
        request=request,
        questions={q.id: q.ask for q in runbook.questions},
        answers=answers,
        required=[q.id for q in runbook.questions if q.required],
        steps=steps,
        rollback=rollback,
        validation=list(runbook.validation),
        approval=approval,
        approval_rule=why,
        created_at=now.isoformat(timespec="seconds"),
        start=start,
        drift=_drift(runbook, steps),
    )


def _drift(runbook: Runbook, steps: list[PlannedStep]) -> list[Fact]:
    """The facts the plan records of its hosts: the runbook's, and its planned steps'."""
    if not any(s.commands for s in steps):
        return []  # no machine step on a host: nothing to compare
    named = set(runbook.drift).union(*(s.drift for s in runbook.steps))
    return [f for f in FACT_NAMES if f in named]


def _start(
    runbook: Runbook, config: Config, env: str | None, at: str, window: str, now: datetime
) -> Start | None:
    """The plan's scheduled start, from the request's reserved `start_at=` or `window=`."""
    if (not at or at == "now") and not window:  # now: once approved (an edit says so)
        return None
    if runbook.kind == "hotfix":
        raise ParameterError("a hotfix starts once approved: it takes no start_at or window")
    holds = config.approvals.times_for(runbook.name, env).holds
    try:
        return resolve_start(at or None, window or None, config.starts, config.timezone, now, holds)
    except ValueError as e:
        raise ParameterError(str(e)) from None


def _check_answers(runbook: Runbook, answers: dict[str, str]) -> None:
    known = {q.id for q in runbook.questions}
    extra = sorted(set(answers) - known)
    if extra:
        raise ParameterError(f"unknown planning answer(s) {extra}; questions: {sorted(known)}")
    for q in runbook.questions:
        if len(answers.get(q.id, "")) > 3000:
            raise ParameterError(f"answer to {q.id} is longer than 3000 characters")


def _context(
    service: str | None,
    env: str | None,
    svc: Service | None,
    params: dict[str, str | int | bool],
    now: datetime,
    task_id: str,
) -> dict[str, object]:
    ctx: dict[str, object] = dict(params)
    if svc is None or service is None:
        return ctx
    ctx.update(
        service=service,
        environment=env or "",
        app_dir=svc.app_dir,
        remote=svc.git.remote,
        branch=svc.git.branch,
        run_dir=f"{svc.app_dir}/.chatops",
    )
    if svc.database is not None:
        ctx["database"] = svc.database.name
        ctx["backup_dir"] = svc.database.backup_dir
        # the plan's own: two migrations in one second never overwrite each other's backup
        mark = "".join(c for c in task_id.rsplit("-", 1)[-1].split("~")[0] if c.isalnum())[:12]
        stamp = f"{service}_{now:%Y-%m-%d_%H-%M-%S}_{mark}"
        ctx["backup_file"] = f"{svc.database.backup_dir}/{stamp}.dump"
    return ctx


def _command(
    cmd: Command | Step, service: str, svc: Service, ctx: dict[str, object]
) -> tuple[str, str | None]:
    if cmd.action is not None:
        body = action_command(service, svc, cmd.action, ctx)
    else:
        assert cmd.run is not None
        try:
            body = render(cmd.run, ctx)
        except KeyError as e:
            raise ParameterError(f"this request gives no value for {{{e.args[0]}}}") from None
    return f"cd {quote(svc.app_dir)} && {body}", cmd.action


def _render_step(
    step: Step,
    service: str | None,
    env: str | None,
    svc: Service | None,
    base: dict[str, object],
) -> PlannedStep:
    common = dict(
        id=step.id,
        title=step.title,
        kind=step.kind,
        purpose=step.purpose,
        description=step.description,
        timeout=step.timeout,
        hosts=step.hosts,
        max_parallel=step.max_parallel,
        on_failure=step.on_failure,
    )
    if step.kind == "manual":
        return PlannedStep(**common, role=step.role)
    if step.kind == "gate":
        return PlannedStep(**common, roles=list(step.roles), quorum=step.quorum)
    if svc is None or service is None or env is None:
        raise ParameterError(f"step {step.id} runs on a service's hosts: give service=…")
    if step.http == "health":
        if svc.health is None:
            raise ParameterError(
                f"service {service} has no health check configured (step {step.id})"
            )
        h = svc.health
        check = HttpCheck.of(h)
        return PlannedStep(**common, http=check)
    commands: list[HostCommand] = []
    rollback: list[HostCommand] = []
    action: str | None = None
    for host in svc.environments[env].hosts:
        ctx = {**base, "host": host.name}
        line, action = _command(step, service, svc, ctx)
        commands.append(HostCommand(host=host.name, command=line))
        if step.rollback is not None:
            rb, _ = _command(step.rollback, service, svc, ctx)
            rollback.append(HostCommand(host=host.name, command=rb))
    return PlannedStep(
        **common, commands=commands, rollback=rollback, expect=step.expect, action=action
    )
