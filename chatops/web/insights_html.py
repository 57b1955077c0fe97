"""The insights page: the team's delivery numbers of the last 30 days (the DORA four, the
time to approve and the time waiting on people), by service, process and requester kind,
and charts of the last 12 weeks. Every text escaped, no script."""

from __future__ import annotations

from typing import Any

from chatops.engine.planning.durations import spoken
from chatops.engine.runs.insights import InsightsPage
from chatops.web.charts import bars, lines
from chatops.web.html import document, t, when

__all__ = ["insights_page"]


def _rate(cfr: dict[str, Any]) -> str:
    rate = cfr.get("rate")
    return "-" if rate is None else f"{rate:.0%} ({cfr['failed']}/{cfr['total']})"


def _cards(n: dict[str, Any]) -> str:
    df = n["deployment_frequency"]
    per_day = "-" if df["per_day"] is None else f"{df['per_day']:g} a day"
    cards = [
        ("Deployment frequency", str(df["count"]), per_day),
        ("Lead time for changes", spoken(n["lead_time"]["p50_s"]), "p50, request to success"),
        ("Change failure rate", _rate(n["change_failure_rate"]), "failed, rolled back or hotfixed"),
        ("Time to restore", spoken(n["time_to_restore"]["p50_s"]), "p50, hotfix asked to done"),
        (
            "Time to approve",
            spoken(n["time_to_approve"]["p50_s"]),
            f"p50 (p90 {spoken(n['time_to_approve']['p90_s'])}), plan to quorum",
        ),
        (
            "Waiting on people",
            spoken(n["time_waiting_on_people"]["p50_s"]),
            f"p50 (p90 {spoken(n['time_waiting_on_people']['p90_s'])}), manual steps and gates",
        ),
    ]
    return (
        '<div class="cards" id="numbers">'
        + "".join(
            f'<div class="card">{t(name)}<b>{t(value)}</b><span class="meta">{t(note)}</span></div>'
            for name, value, note in cards
        )
        + "</div>"
    )


def _table(title: str, groups: dict[str, Any]) -> str:
    if not groups:
        return ""
    rows = "".join(
        f"<tr><td>{t(name)}</td><td>{n['deployment_frequency']['count']}</td>"
        f"<td>{t(spoken(n['lead_time']['p50_s']))}</td><td>{t(_rate(n['change_failure_rate']))}</td>"
        f"<td>{t(spoken(n['time_to_restore']['p50_s']))}</td>"
        f"<td>{t(spoken(n['time_to_approve']['p50_s']))} / "
        f"{t(spoken(n['time_to_approve']['p90_s']))}</td><td>{t(spoken(n['time_waiting_on_people']['p50_s']))}</td></tr>"
        for name, n in groups.items()
    )
    return (
        f"<h2>{t(title)}</h2><table><tr><th></th><th>deploys</th><th>lead time p50</th>"
        "<th>change failure rate</th><th>time to restore p50</th>"
        f"<th>time to approve p50 / p90</th><th>waiting on people p50</th></tr>{rows}</table>"
    )


def _scale(values: list[object]) -> tuple[float, str]:
    """The unit the longest of these times reads best in: seconds, minutes, hours or days
    (a lead time of 54 s reads "54 s", never "0.9 min")."""
    top = max((v for v in values if isinstance(v, int | float)), default=0.0)
    if top >= 3 * 86400:
        return 86400.0, "d"
    if top >= 2 * 3600:
        return 3600.0, "h"
    return (60.0, "min") if top >= 2 * 60 else (1.0, "s")


def insights_page(page: InsightsPage) -> str:
    n: dict[str, Any] = page.numbers
    weeks: list[dict[str, Any]] = page.weeks
    labels = [str(w["week"])[5:] for w in weeks]
    lead = [w["lead_time"]["p50_s"] for w in weeks]
    approve = [w["time_to_approve"]["p50_s"] for w in weeks]
    size, unit = _scale(lead + approve)

    def scaled(values: list[object]) -> list[float | None]:
        return [v / size if isinstance(v, int | float) else None for v in values]

    over_weeks = lines(
        f"Lead time and time to approve, p50 a week ({unit})",
        labels,
        [("lead time p50", scaled(lead)), ("time to approve p50", scaled(approve))],
        f" {unit}",
    )
    by_service: dict[str, Any] = n["by_service"]
    per_service = bars(
        "Deploys, failures and restores per service (30 days)",
        [
            (
                name,
                [
                    float(s["deployment_frequency"]["count"]),
                    float(s["change_failure_rate"]["failed"]),
                    float(s["time_to_restore"]["n"]),
                ],
            )
            for name, s in by_service.items()
        ],
        ["deploys", "failures", "restores (hotfixes)"],
    )
    scope = f" of {page.service}" if page.service else ""
    body = (
        f"<h1>The team's delivery{t(scope)}</h1>"
        f'<p class="meta">the last 30 days to {when(page.until)} · seen by {t(page.viewer)} · '
        "the same numbers as <code>chatops report</code> and <code>/metrics</code></p>"
        + _cards(n)
        + f'<h2>Over the last 12 weeks</h2><figure id="weeks">{over_weeks}</figure>'
        + f'<h2>Per service</h2><figure id="services">{per_service}</figure>'
        + _table("By service", by_service)
        + _table("By process", n["by_process"])
        + _table("By who asked", n["by_requester_kind"])
        + '<p class="meta">A change fails when its run failed or rolled back, or a hotfix of '
        "the same service was asked within 24 h of it. A gate that helps shows short times to "
        "approve and a failure rate that does not rise with speed.</p>"
    )
    return document("Insights", body)
