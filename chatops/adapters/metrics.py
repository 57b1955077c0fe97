"""Prometheus metrics, served at GET /metrics in HTTP mode.

- chatops_runs{state}                        runs by state (read from the store at scrape time)
- chatops_step_duration_seconds{runbook,...} how long machine steps take, per host
- chatops_slack_api_calls_total{method,ok}   Web API calls; chatops_slack_rate_limited_total
- chatops_approvals_total, chatops_refusals_total{action}, chatops_reminders_sent_total
- chatops_audit_events_total{action}         every audited event
- chatops_feed_stalled_seconds{feed}         how long a feed has retried an event (Slack
                                             down, the store away); 0 when it is not stuck
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk import WebClient

from chatops.engine.bus import Handlers
from chatops.engine.domain.events import Event, StepFinished
from chatops.engine.domain.run import RunState

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
