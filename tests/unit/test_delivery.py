"""The delivery numbers from runs and their audit rows."""

from __future__ import annotations

from datetime import date, timedelta

from chatops.engine.domain.delivery import (
    changes_of,
    numbers,
    percentile,
    time_to_approve,
    weekly,
)
from chatops.engine.domain.run import AuditEvent, RunState, RunView
from tests.factories import NOW

H = timedelta(hours=1)


def run(
    run_id: int, kind: str, state: RunState, at_hours: float, service: str = "web", who: str = "U1"
) -> RunView:
    at = NOW + at_hours * H
    return RunView(run_id, f"t{run_id}", "h", kind, kind, service, "production", state, who, at, at)


def row(run_id: int, action: str, at_hours: float) -> AuditEvent:
    return AuditEvent(NOW + at_hours * H, "chatops", action, run_id)


RUNS = [
    run(1, "deploy", RunState.SUCCEEDED, 0),  # approved after 1 h, shipped after 3 h
    run(2, "deploy", RunState.ROLLED_BACK, 10),  # failed
    run(3, "deploy", RunState.SUCCEEDED, 20, who="agent:coder-agent"),  # followed by a hotfix
    run(4, "hotfix", RunState.SUCCEEDED, 30),  # restores in 30 min
    run(5, "deploy", RunState.SUCCEEDED, 40, service="api"),  # another service: not followed
    run(6, "debug", RunState.SUCCEEDED, 41),  # not a deploy
    run(7, "deploy", RunState.AWAITING_APPROVAL, 42),  # not ended: counts for nothing yet
]
AUDIT = [
    row(1, "run.queued", 1),
    row(1, "run.succeeded", 3),
    row(2, "run.queued", 10.5),
    row(2, "run.rolled_back", 11),
    row(3, "run.queued", 20.25),
    row(3, "run.succeeded", 21),
    row(4, "run.queued", 30.1),
    row(4, "run.succeeded", 30.5),
    row(5, "run.queued", 40.5),
    row(5, "run.succeeded", 41),
    row(6, "run.queued", 41.1),
    row(6, "run.succeeded", 41.2),
]


def test_the_four_numbers_and_the_time_to_approve() -> None:
    got = numbers(changes_of(RUNS, AUDIT), NOW, NOW + timedelta(days=2))
    assert got["deployment_frequency"] == {"count": 4, "per_day": 2.0}  # 1, 3, 4, 5
    assert got["change_failure_rate"] == {"failed": 2, "total": 5, "rate": 0.4}  # 2, and 3
    lead = got["lead_time"]
    assert isinstance(lead, dict) and lead["n"] == 4 and lead["p50_s"] == 3600.0
    assert got["time_to_restore"] == {"n": 1, "p50_s": 1800.0, "p90_s": 1800.0}
    approve = got["time_to_approve"]
    assert isinstance(approve, dict) and approve["n"] == 6 and approve["p90_s"] == 3600.0


def test_by_service_process_and_requester_kind() -> None:
    got = numbers(changes_of(RUNS, AUDIT), NOW, NOW + timedelta(days=2))
    by_service = got["by_service"]
    assert isinstance(by_service, dict) and set(by_service) == {"web", "api"}
    api = by_service["api"]
    assert api["change_failure_rate"] == {"failed": 0, "total": 1, "rate": 0.0}
    by_kind = got["by_requester_kind"]
    assert isinstance(by_kind, dict)
    assert by_kind["agent"]["change_failure_rate"]["failed"] == 1  # run 3, followed by 4
    assert "debug" in got["by_process"]  # type: ignore[operator]


def test_a_window_and_a_service_narrow_the_changes() -> None:
    changes = changes_of(RUNS, AUDIT)
    early = numbers(changes, NOW, NOW + 15 * H)  # runs 1 and 2
    assert early["deployment_frequency"]["count"] == 1  # type: ignore[index]
    api = numbers(changes, NOW, NOW + timedelta(days=2), service="api")
    assert api["lead_time"]["n"] == 1  # type: ignore[index]
    empty = numbers(changes, NOW - timedelta(days=9), NOW - timedelta(days=8))
    assert empty["change_failure_rate"]["rate"] is None  # type: ignore[index]
    assert empty["lead_time"] == {"n": 0, "p50_s": None, "p90_s": None}


def test_percentiles_by_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0


def test_the_metrics_time_each_change_as_it_happens() -> None:
    from chatops.adapters.clock import ManualClock
    from chatops.engine.domain.events import RunApproved, RunFinished, StepDone
    from chatops.metrics import REGISTRY, DeliveryMetrics

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    clock = ManualClock(NOW)
    metrics = DeliveryMetrics(clock)
    shipped = run(71, "deploy", RunState.SUCCEEDED, 0, service="metrics-web")
    broken = run(72, "deploy", RunState.FAILED, 0, service="metrics-web")
    fix = run(73, "hotfix", RunState.SUCCEEDED, 0, service="metrics-web")
    clock.advance(H / 2)
    metrics.publish(RunApproved(shipped, ("U_LEAD",)))
    clock.advance(H * 2.5)
    metrics.publish(RunFinished(shipped, RunState.SUCCEEDED))
    metrics.publish(RunFinished(broken, RunState.FAILED))
    metrics.publish(RunFinished(fix, RunState.SUCCEEDED))
    metrics.publish(RunFinished(run(74, "debug", RunState.SUCCEEDED, 0), RunState.SUCCEEDED))
    waited = run(75, "metrics-wait", RunState.RUNNING, 0)
    metrics.publish(StepDone(waited, "prepare", "U_CODER", waited_s=1200.0))
    metrics.publish(StepDone(waited, "other", "U_CODER"))  # an older event: no wait known
    assert sample("chatops_time_waiting_on_people_seconds_sum", process="metrics-wait") == 1200
    assert sample("chatops_time_waiting_on_people_seconds_count", process="metrics-wait") == 1
    lead = {"process": "deploy", "service": "metrics-web"}
    assert sample("chatops_lead_time_seconds_sum", **lead) == 3 * 3600
    assert sample("chatops_time_to_restore_seconds_count", service="metrics-web") == 1
    assert sample("chatops_time_to_approve_seconds_sum", process="deploy") >= 1800
    ended = {"process": "deploy", "service": "metrics-web"}
    assert sample("chatops_changes_ended_total", **ended, outcome="succeeded") == 1
    assert sample("chatops_changes_ended_total", **ended, outcome="failed") == 1
    assert (
        sample("chatops_changes_ended_total", process="debug", service="web", outcome="succeeded")
        == 0
    )


def test_time_waiting_on_people_runs_from_reaching_their_step_to_their_word() -> None:
    audit = [
        *AUDIT,
        AuditEvent(NOW + 1.5 * H, "chatops", "step.waiting", 1, detail="verify"),
        AuditEvent(NOW + 2.5 * H, "U1", "step.done", 1, detail="verify: looked fine"),
        AuditEvent(NOW + 20.5 * H, "chatops", "step.waiting", 3, detail="go"),
        AuditEvent(NOW + 20.75 * H, "U_LEAD", "gate.approved", 3, detail="go"),
        AuditEvent(NOW + 40.6 * H, "chatops", "step.waiting", 5, detail="never-answered"),
    ]
    got = numbers(changes_of(RUNS, audit), NOW, NOW + timedelta(days=2))
    assert got["time_waiting_on_people"] == {"n": 2, "p50_s": 900.0, "p90_s": 3600.0}
    by_kind = got["by_requester_kind"]
    assert isinstance(by_kind, dict)
    assert by_kind["agent"]["time_waiting_on_people"]["n"] == 1  # run 3's gate


def test_weekly_numbers_start_on_mondays_and_cover_the_window() -> None:
    since = NOW - timedelta(days=14)
    weeks = weekly(changes_of(RUNS, AUDIT), since, NOW + timedelta(days=2))
    assert all(date.fromisoformat(str(w["week"])).weekday() == 0 for w in weeks)  # Mondays
    assert date.fromisoformat(str(weeks[0]["week"])) <= since.date()
    shipped = sum(w["deployment_frequency"]["count"] for w in weeks)  # type: ignore[index]
    assert shipped == 4  # every week together: the window's deploys, none twice
    assert len(weeks) in (3, 4)


def test_a_runs_time_to_approve_is_its_request_to_its_first_quorum() -> None:
    assert time_to_approve(RUNS[0], AUDIT) == 3600.0
    assert time_to_approve(RUNS[6], AUDIT) is None  # still waiting


def test_times_are_spoken_in_the_unit_they_read_best_in() -> None:
    from chatops.engine.planning.durations import spoken

    assert [spoken(v) for v in (None, 0, 59.4, 600, 5400, 172800)] == [
        "-",
        "0 s",
        "59 s",
        "10 min",
        "1.5 h",
        "2.0 d",
    ]
