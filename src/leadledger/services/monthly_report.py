"""`leadledger report`: one month's funnel, the trend to it, the forecast and the audit, in one value.

The month is [first day, first day of the next month). Its clock (`as_of`) is the end of the month,
or the real clock while the month is still running. The funnel, time in stage, sources and unit
economics come from `funnel_report` over the month and over the twelve months up to its end; the
forecast from `forecast_report`; the audit from the ledger audit, as of the same clock.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from leadledger.domain.audit import AuditReport, AuditTotals, RuleSummary
from leadledger.domain.forecast import WON
from leadledger.domain.funnel import ALL, CohortFunnel, first_prospect_stage, month_of
from leadledger.domain.stats import ratio
from leadledger.errors import LeadledgerError
from leadledger.services.audit.ledger import audit_ledger
from leadledger.services.funnel import ForecastResult, FunnelReport, forecast_report, funnel_report
from leadledger.store.policies import load_active_policy

TREND_MONTHS = 12
_MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadMonth(LeadledgerError):
    """The month is not YYYY-MM, or has not begun yet."""


def _shift(start: datetime, months: int) -> datetime:
    k = start.year * 12 + start.month - 1 + months
    return datetime(k // 12, k % 12 + 1, 1, tzinfo=UTC)


def parse_month(text: str, clock: datetime) -> tuple[datetime, datetime]:
    """The month `YYYY-MM` as [start, end); refuses a malformed or future month."""
    m = _MONTH.fullmatch(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise BadMonth(f"month {text!r} is not a calendar month written YYYY-MM, e.g. 2026-03")
    start = datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)
    if start > clock:
        raise BadMonth(f"month {text} has not begun yet (today is {clock:%Y-%m-%d})")
    return start, _shift(start, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendPoint:
    """One month of the trend: new contacts per stage, and how that month's leads converted so far."""

    month: str
    new_leads: int  # contacts that first reached the entry stage during the month
    new_prospects: int  # … the first prospect stage (SQL in Lead-First)
    new_customers: int  # … the customer stage
    cohort_size: int  # contacts created during the month
    lead_to_prospect: float | None  # share of the month's new contacts that became prospects, so far
    prospect_to_customer: float | None  # share of those prospects that became customers, so far


@dataclass(frozen=True, slots=True, kw_only=True)
class Headline:
    """One headline number: a value, its unit (count, money, share, ratio) and one explaining sentence."""

    key: str
    label: str
    value: float | None
    unit: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSummary:
    """The audit as of the report's clock: findings per rule, the inflation, one example per rule."""

    as_of: datetime
    policy_version: str
    findings: int
    worst: str | None
    rules: tuple[RuleSummary, ...]  # rules that found something, in id order
    totals: AuditTotals
    examples: tuple[tuple[str, str], ...]  # (rule, sentence): one per rule that fired, most severe first

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "as_of": self.as_of,
            "policy_version": self.policy_version,
            "findings": self.findings,
            "worst": self.worst,
            "rules": [r.to_dict() for r in self.rules],
            "totals": self.totals.to_dict(),
            "examples": [{"rule": rule, "message": text} for rule, text in self.examples],
        }


def summarize_audit(report: AuditReport) -> AuditSummary:
    """The parts of an audit a monthly report shows."""
    examples: dict[str, str] = {}
    for f in report.findings:  # already most severe first
        examples.setdefault(f.rule, f.message)
    return AuditSummary(
        as_of=report.now,
        policy_version=report.policy_version,
        findings=len(report.findings),
        worst=report.worst.value if report.worst else None,
        rules=tuple(s for s in report.summary() if s.count),
        totals=report.totals,
        examples=tuple(examples.items()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyReport:
    """Everything the monthly HTML report shows."""

    month: str
    start: datetime
    end: datetime  # exclusive: the first instant of the next month
    as_of: datetime  # the report's clock: `end`, or now while the month runs
    complete: bool
    policy_version: str
    stage_labels: dict[str, str]
    prospect_stage: str | None
    customer_stage: str | None
    headlines: tuple[Headline, ...]
    funnel: FunnelReport  # over the month
    trailing: FunnelReport  # over the twelve months up to the month's end
    trend: tuple[TrendPoint, ...]
    forecast: ForecastResult
    audit: AuditSummary
    seconds: float

    @property
    def trailing_total(self) -> CohortFunnel:
        """The twelve months' cohorts together."""
        return self.trailing.cohorts[-1]

    def headline(self, key: str) -> Headline:
        """The headline called `key`."""
        return next(h for h in self.headlines if h.key == key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "month": self.month,
            "start": self.start,
            "end": self.end,
            "as_of": self.as_of,
            "complete": self.complete,
            "policy_version": self.policy_version,
            "stage_labels": self.stage_labels,
            "prospect_stage": self.prospect_stage,
            "customer_stage": self.customer_stage,
            "headlines": [asdict(h) for h in self.headlines],
            "funnel": self.funnel.to_dict(),
            "trailing": self.trailing.to_dict(),
            "trend": [asdict(t) for t in self.trend],
            "forecast": self.forecast.to_dict(),
            "audit": self.audit.to_dict(),
            "seconds": self.seconds,
        }


def monthly_report(engine: Engine, month: str, clock: datetime) -> MonthlyReport:
    """Gather the report of `month` (YYYY-MM); `clock` is the real now, which caps a running month."""
    began = time.perf_counter()
    start, end = parse_month(month, clock)
    as_of = min(end, clock)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
    prospect = first_prospect_stage(policy)
    customer = policy.customer_stage.name if policy.customer_stage else None
    this_month = funnel_report(engine, as_of, start=start, end=as_of)
    trailing = funnel_report(engine, as_of, start=_shift(start, 1 - TREND_MONTHS), end=as_of)
    fc = forecast_report(engine, as_of, won_since=start)
    audit = summarize_audit(audit_ledger(engine, as_of))
    trend = _trend(trailing, start, prospect, customer)
    return MonthlyReport(
        month=month_of(start),
        start=start,
        end=end,
        as_of=as_of,
        complete=as_of >= end,
        policy_version=policy.version,
        stage_labels={s.name: s.label for s in policy.stages},
        prospect_stage=prospect,
        customer_stage=customer,
        headlines=_headlines(trend, trailing, fc, audit, this_month, month_of(start)),
        funnel=this_month,
        trailing=trailing,
        trend=trend,
        forecast=fc,
        audit=audit,
        seconds=time.perf_counter() - began,
    )


def _trend(
    trailing: FunnelReport, start: datetime, prospect: str | None, customer: str | None
) -> tuple[TrendPoint, ...]:
    periods = {p.month: {s.stage: s.contacts for s in p.stages} for p in trailing.periods}
    cohorts = {c.cohort: c for c in trailing.cohorts if c.cohort != ALL}
    entry = trailing.cohorts[-1].stages[0].stage if trailing.cohorts[-1].stages else None
    out = []
    for k in range(1 - TREND_MONTHS, 1):
        month = month_of(_shift(start, k))
        flow = periods.get(month, {})
        c = cohorts.get(month)
        size = c.size if c else 0
        prospects = c.reached(prospect) if c and prospect else 0
        customers = c.reached(customer) if c and customer else 0
        out.append(
            TrendPoint(
                month=month,
                new_leads=flow.get(entry or "", 0),
                new_prospects=flow.get(prospect or "", 0),
                new_customers=flow.get(customer or "", 0),
                cohort_size=size,
                lead_to_prospect=ratio(prospects, size),
                prospect_to_customer=ratio(customers, prospects),
            )
        )
    return tuple(out)


def _headlines(
    trend: tuple[TrendPoint, ...],
    trailing: FunnelReport,
    fc: ForecastResult,
    audit: AuditSummary,
    this_month: FunnelReport,
    month: str,
) -> tuple[Headline, ...]:
    now, f, t, e = trend[-1], fc.report, audit.totals, trailing.economics
    avg_leads = sum(p.new_leads for p in trend) / len(trend)
    won = [line for line in f.lines if line.category == WON and line.month == month]
    bench = {b.name: b for b in trailing.benchmarks}.get("lead→prospect")
    sla = this_month.sla[0] if this_month.sla else None
    return (
        Headline(key="new_leads", label="New leads", value=now.new_leads, unit="count",
                 detail=f"12-month average {avg_leads:,.0f} a month"),
        Headline(key="new_prospects", label="New prospects", value=now.new_prospects, unit="count",
                 detail="qualified by the evidence the policy requires"),
        Headline(key="won_amount", label="Booked revenue", value=sum(w.amount for w in won), unit="money",
                 detail=f"{sum(w.deals for w in won):,} deal(s) signed and booked this month"),
        Headline(key="lead_to_prospect", label="Lead → prospect", value=bench.rate if bench else None,
                 unit="share",
                 detail=f"last 12 months; benchmark ~{bench.benchmark:.0%}: {bench.flag}" if bench else ""),
        Headline(key="weighted_forecast", label="Weighted forecast", value=f.weighted_amount, unit="money",
                 detail=f"of ${f.open_amount:,.0f} open in {f.open_deals:,} deals"),
        Headline(key="pipeline_unsupported", label="Pipeline without evidence", value=t.pipeline_unsupported,
                 unit="money",
                 detail=f"{ratio(t.pipeline_unsupported, t.pipeline_reported) or 0:.0%} of the open pipeline "
                 f"the audit cannot back"),
        Headline(key="clv_to_cac", label="CLV : CAC", value=e.clv_to_cac, unit="ratio",
                 detail="last 12 months; healthy at 3:1 or more" if e.cac else "no marketing spend recorded"),
        Headline(key="sla", label="First-touch SLA met", value=sla.compliance if sla else None, unit="share",
                 detail=f"{sla.stage.upper()} within {sla.sla_hours:g} h this month" if sla else "no SLA"),
    )
