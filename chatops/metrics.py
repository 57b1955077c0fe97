"""Prometheus metrics, served at GET /metrics in HTTP mode.

- chatops_runs{state}                        runs by state (read from the store at scrape time)
- chatops_step_duration_seconds{runbook,...} how long machine steps take, per host
- chatops_slack_api_calls_total{method,ok}   Web API calls; chatops_slack_rate_limited_total
- chatops_approvals_total, chatops_refusals_total{action}, chatops_reminders_sent_total
- chatops_audit_events_total{action}         every audited event
- chatops_feed_stalled_seconds{feed}         how long a feed has retried an event (Slack
                                             down, the store away); 0 when it is not stuck
- chatops_lead_time_seconds{process,service} a deploying run's request to its success
- chatops_time_to_restore_seconds{service}   a hotfix's request to its success
- chatops_time_to_approve_seconds{process}   a plan's request to its quorum
- chatops_changes_ended_total{process,service,outcome}  deploying runs that ended, by
                                             outcome (succeeded, failed, rolled_back): the
                                             failure rate (`chatops report` adds hotfixes
                                             that follow a deploy within 24 h)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk import WebClient

from chatops.engine.bus import Handlers
from chatops.engine.domain.delivery import DEPLOYING
from chatops.engine.domain.events import Event, RunApproved, RunFinished, StepDone, StepFinished
from chatops.engine.domain.run import RunState
from chatops.engine.ports import Clock

REGISTRY = CollectorRegistry()
STEP_SECONDS = Histogram(
    "chatops_step_duration_seconds",
    "Duration of machine steps per host",
    ["runbook", "step", "outcome"],
    registry=REGISTRY,
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600),
)
SLACK_CALLS = Counter(
    "chatops_slack_api_calls_total", "Slack Web API calls", ["method", "ok"], registry=REGISTRY
)
SLACK_429 = Counter(
    "chatops_slack_rate_limited_total", "Slack answers 429 (retried)", registry=REGISTRY
)
AUDIT = Counter("chatops_audit_events_total", "Audited events", ["action"], registry=REGISTRY)
APPROVALS = Counter("chatops_approvals_total", "Approvals recorded", registry=REGISTRY)
REFUSALS = Counter(
    "chatops_refusals_total", "Refused plans and denied attempts", ["action"], registry=REGISTRY
)
REMINDERS = Counter("chatops_reminders_sent_total", "Post-mortem reminders sent", registry=REGISTRY)
HOURS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
LEAD_TIME = Histogram(
    "chatops_lead_time_seconds",
    "A deploying run's request to its success",
    ["process", "service"],
    registry=REGISTRY,
    buckets=HOURS,
)
TIME_TO_RESTORE = Histogram(
    "chatops_time_to_restore_seconds",
    "A hotfix's request to its success",
    ["service"],
    registry=REGISTRY,
    buckets=HOURS,
)
TIME_WAITING_ON_PEOPLE = Histogram(
    "chatops_time_waiting_on_people_seconds",
    "A person's step, from the run reaching it to the person saying it is done",
    ["process"],
    registry=REGISTRY,
    buckets=HOURS,
)
TIME_TO_APPROVE = Histogram(
    "chatops_time_to_approve_seconds",
    "A plan's request to its quorum",
    ["process"],
    registry=REGISTRY,
    buckets=HOURS,
)
CHANGES_ENDED = Counter(
    "chatops_changes_ended_total",
    "Deploying runs (deploy, migration, hotfix) that ended, by outcome",
    ["process", "service", "outcome"],
    registry=REGISTRY,
)


def audited(action: str) -> None:
    AUDIT.labels(action).inc()
    if action == "plan.approved":
        APPROVALS.inc()
    elif action.startswith("denied.") or action == "plan.refused":
        REFUSALS.labels(action).inc()
    elif action == "postmortem.reminded":
        REMINDERS.inc()


class RunsByState(Collector):
    def __init__(self) -> None:
        self.count: Any = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("chatops_runs", "Runs by state", labels=["state"])
        counts = self.count() if self.count is not None else {}
        for state in RunState:
            g.add_metric([state.value], counts.get(state.value, 0))
        yield g


class FeedStalls(Collector):
    """How long each of this process's feeds has been retrying its oldest failing event."""

    def __init__(self) -> None:
        self.feeds: Any = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily(
            "chatops_feed_stalled_seconds",
            "Seconds a feed has retried an event it could not deliver",
            labels=["feed"],
        )
        for feed in self.feeds() if self.feeds is not None else []:
            g.add_metric([feed.name], feed.stalled_for)
        yield g


class StepMetrics:
    """A Notifier that times machine steps."""

    def __init__(self) -> None:
        self.handlers = Handlers[None]().on(StepFinished, self.on_step_finished)

    def publish(self, event: Event) -> None:
        self.handlers.handle(event, None)

    def on_step_finished(self, event: StepFinished, _: None) -> None:
        for r in event.results:
            STEP_SECONDS.labels(event.run.runbook, event.step, r.outcome).observe(r.duration)


OUTCOMES = {RunState.SUCCEEDED, RunState.FAILED, RunState.ROLLED_BACK}


class DeliveryMetrics:
    """A Notifier that times the team's delivery as it happens (the same numbers as
    `chatops report`, for dashboards and alerts): told right after each commit."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.handlers = (
            Handlers[None]()
            .on(RunApproved, self.on_approved)
            .on(RunFinished, self.on_finished)
            .on(StepDone, self.on_done)
        )

    def publish(self, event: Event) -> None:
        self.handlers.handle(event, None)

    def _since_request(self, event: Event) -> float:
        return max(0.0, (self.clock.now() - event.run.created_at).total_seconds())

    def on_approved(self, event: RunApproved, _: None) -> None:
        TIME_TO_APPROVE.labels(event.run.runbook).observe(self._since_request(event))

    def on_done(self, event: StepDone, _: None) -> None:
        if event.waited_s is not None:
            TIME_WAITING_ON_PEOPLE.labels(event.run.runbook).observe(event.waited_s)

    def on_finished(self, event: RunFinished, _: None) -> None:
        run = event.run
        if run.kind not in DEPLOYING or event.state not in OUTCOMES:
            return
        service = run.service or "-"
        CHANGES_ENDED.labels(run.runbook, service, event.state.value).inc()
        if event.state != RunState.SUCCEEDED:
            return
        LEAD_TIME.labels(run.runbook, service).observe(self._since_request(event))
        if run.is_hotfix:
            TIME_TO_RESTORE.labels(service).observe(self._since_request(event))


class CountingWebClient(WebClient):
    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        try:
            response = super().api_call(api_method, **kwargs)
        except Exception:
            SLACK_CALLS.labels(api_method, "false").inc()
            raise
        SLACK_CALLS.labels(api_method, "true").inc()
        return response


def exposition() -> bytes:
    return generate_latest(REGISTRY)


RUNS = RunsByState()
REGISTRY.register(RUNS)


def watch_runs(count: Any, feeds: Any = None) -> None:
    """Read run counts from this store (the one the serving process uses), and the stalls of
    this process's feeds."""
    RUNS.count = count
    if feeds is not None:
        STALLS.feeds = feeds


STALLS = FeedStalls()
REGISTRY.register(STALLS)
