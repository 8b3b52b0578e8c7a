"""The monthly report as one self-contained HTML page: charts and sentences from a `MonthlyReport`."""

from __future__ import annotations

from typing import Any

from leadledger.domain.forecast import CATEGORY_ORDER, NO_DATE, WON
from leadledger.services.monthly_report import MonthlyReport
from leadledger.web import format as fmt
from leadledger.web.charts import Reference, Series, bar_chart, line_chart, stacked_bars
from leadledger.web.format import month_name
from leadledger.web.sentences import sentences
from leadledger.web.svg import PALETTE
from leadledger.web.templating import render, trusted

SEVERITY_COLORS = {"error": "#D55E00", "warning": "#E69F00", "info": "#56B4E9"}
CATEGORY_COLORS = {WON: "#009E73", "commit": "#0072B2", "best_case": "#56B4E9", "pipeline": "#B0BEC5"}
CATEGORY_NAMES = {WON: "won (signed and booked)", "commit": "commit", "best_case": "best case",
                  "pipeline": "pipeline"}


def render_monthly_report(report: MonthlyReport) -> str:
    """The whole report as HTML: one inline stylesheet, inline SVG, no script, no external URL."""
    return render(
        "report.html.j2",
        r=report,
        title=f"Revenue report — {month_name(report.month)}",
        month_name=month_name(report.month),
        label=lambda stage: report.stage_labels.get(stage, stage),
        charts={k: trusted(v) for k, v in charts(report).items()},
        say=sentences(report),
        forecast_lines=_forecast_lines(report),
    )


def charts(report: MonthlyReport) -> dict[str, str]:
    """Every chart of the report, by section."""
    return {
        "funnel": _funnel(report),
        "trend": _trend(report),
        "time_in_stage": _time_in_stage(report),
        "economics": _economics(report),
        "forecast": _forecast(report),
        "audit_rules": _audit_rules(report),
        "audit_money": _audit_money(report),
    }


def _funnel(r: MonthlyReport) -> str:
    stages = r.trailing_total.stages
    this = {p.month: p for p in r.funnel.periods}.get(r.month)
    now = [s.contacts for s in this.stages] if this else [0] * len(stages)
    year = {s.stage: 0 for s in stages}
    for p in r.trailing.periods:
        for s in p.stages:
            year[s.stage] += s.contacts
    return bar_chart(
        f"Contacts reaching each stage for the first time, {month_name(r.month)}",
        [s.label for s in stages],
        [Series(month_name(r.month), now), Series("monthly average, last 12 months",
                                                  [year[s.stage] / len(r.trend) for s in stages])],
        y_label="Contacts", x_label="Stage (skipped stages count as passed)", fmt=fmt.tick_count, whole=True,
        width=720,
    )


def _trend(r: MonthlyReport) -> str:
    return line_chart(
        "Conversion by month the lead came in",
        [t.month for t in r.trend],
        [Series("lead → prospect", [t.lead_to_prospect for t in r.trend]),
         Series("prospect → customer", [t.prospect_to_customer for t in r.trend])],
        y_label="Converted so far (%)", x_label="Month the contact was created",
        fmt=fmt.percent_tick,
        refs=[Reference(b.benchmark, f"{b.name} benchmark {b.benchmark:.0%}", PALETTE[i % len(PALETTE)])
              for i, b in enumerate(r.trailing.benchmarks)],
        width=1000,
    )


def _time_in_stage(r: MonthlyReport) -> str:
    rows = r.trailing.time_in_stage
    return bar_chart(
        "Days spent in each stage (completed stays begun in the last 12 months)",
        [r.stage_labels.get(t.stage, t.stage) for t in rows],
        [Series("median", [t.median_days for t in rows]),
         Series("90th percentile", [t.p90_days for t in rows])],
        y_label="Days in stage", x_label="Stage", fmt=fmt.tick_count, width=600,
    )


def _economics(r: MonthlyReport) -> str:
    e = r.trailing.economics
    refs = [Reference(3 * e.cac, "3:1 line (CLV = 3 × CAC)")] if e.cac else []
    return bar_chart(
        "Customer lifetime value against acquisition cost (last 12 months)",
        ["CAC (cost to win a customer)" if e.cac else "CAC: no spend recorded", "CLV (value of a customer)"],
        [Series("per customer account", [e.cac, e.clv])],
        y_label="US dollars per customer account", fmt=fmt.money_short, refs=refs, width=560,
    )


def _forecast_lines(r: MonthlyReport) -> list[Any]:
    """Forecast lines shown: the open pipeline, plus what was won in the report's month."""
    return [x for x in r.forecast.report.lines if x.category != WON or x.month == r.month]


def _forecast(r: MonthlyReport) -> str:
    lines = _forecast_lines(r)
    months = _month_range(sorted({x.month for x in lines} - {NO_DATE}))
    months += [NO_DATE] if any(x.month == NO_DATE for x in lines) else []
    cats = [c for c in CATEGORY_ORDER if any(x.category == c for x in lines)]
    cell = {(x.category, x.month): x.weighted for x in lines}
    return stacked_bars(
        "Forecast by expected close month, weighted by stage probability",
        months,
        [Series(CATEGORY_NAMES.get(c, c), [cell.get((c, m)) for m in months], CATEGORY_COLORS.get(c))
         for c in cats],
        y_label="Weighted amount (US dollars)", x_label="Expected close month (won: month booked)",
        fmt=fmt.money_short, width=1000,
    )


def _month_range(months: list[str]) -> list[str]:
    """Every month from the first to the last of `months` (YYYY-MM), so the axis has no hidden gaps."""
    if not months:
        return []
    (y, m), (y1, m1) = (map(int, months[0].split("-")), map(int, months[-1].split("-")))
    return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(y * 12 + m - 1, y1 * 12 + m1)]


def _audit_rules(r: MonthlyReport) -> str:
    rules = r.audit.rules
    return stacked_bars(
        "Records whose label the evidence does not support, by audit rule",
        [s.rule.id for s in rules],
        [Series(sev, [s.count if s.rule.severity.value == sev else None for s in rules], color)
         for sev, color in SEVERITY_COLORS.items()],
        y_label="Findings (records)", x_label="Audit rule (see the table below)", fmt=fmt.tick_count,
        whole=True, width=560,
    )


def _audit_money(r: MonthlyReport) -> str:
    t = r.audit.totals
    return stacked_bars(
        "What the labels claim vs what the evidence supports",
        ["Open pipeline", "Won revenue"],
        [Series("backed by evidence", [t.pipeline_supported, t.won_reported - t.won_unsupported], "#0072B2"),
         Series("not supported by evidence", [t.pipeline_unsupported, t.won_unsupported], "#D55E00")],
        y_label="US dollars", fmt=fmt.money_short, width=440,
    )
