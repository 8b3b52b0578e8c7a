"""`leadledger funnel`, `sources` and `forecast`: read the pre-counted inputs, run the pure metrics."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from leadledger.domain.economics import SourceRow, UnitEconomics, by_source, revenue_base_from, unit_economics
from leadledger.domain.followup import (
    RejectionReason,
    SlaCompliance,
    StageTime,
    rejected_mql_reasons,
    sla_compliance,
    time_in_stage,
)
from leadledger.domain.forecast import ForecastReport, forecast
from leadledger.domain.funnel import (
    BenchmarkCheck,
    CohortFunnel,
    PeriodFunnel,
    StageCount,
    benchmark_checks,
    cohort_funnels,
    period_funnels,
    stage_distribution,
)
from leadledger.domain.pipeline import (
    CommitteeCoverage,
    PipelineHealth,
    committee_coverage_from,
    pipeline_health_from,
)
from leadledger.store import funnel_reads, reporting
from leadledger.store.policies import load_active_policy


def default_window(now: datetime) -> tuple[datetime, datetime]:
    """The last twelve calendar months, the current one included."""
    month = now.year * 12 + now.month - 1 - 11
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC), now


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """Everything `leadledger funnel` shows."""

    policy_version: str
    start: datetime
    end: datetime
    cohorts: list[CohortFunnel]
    periods: list[PeriodFunnel]
    stages: list[StageCount]
    benchmarks: list[BenchmarkCheck]
    time_in_stage: list[StageTime]
    sla: list[SlaCompliance]
    rejected_mqls: list[RejectionReason]
    pipeline: PipelineHealth
    committee: CommitteeCoverage
    sources: list[SourceRow]
    economics: UnitEconomics
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def funnel_report(
    engine: Engine,
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    gross_margin: float | None = None,
    annual_churn: float | None = None,
) -> FunnelReport:
    """The funnel by cohort and period, follow-up, pipeline, sources and unit economics over [start, end)."""
    began = time.perf_counter()
    d_start, d_end = default_window(now)
    window = (start or d_start, end or d_end)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        summary = funnel_reads.summary_counts(conn, policy, window)
        if summary is not None:
            counts, stays = summary
        else:  # the summary is stale: count from the ledger
            counts, stays = reporting.funnel_counts(conn, policy, window), reporting.stay_counts(conn, window)
        sla = reporting.sla_counts(conn, policy, now, window)
        rejections = reporting.rejection_counts(conn, policy, window)
        pipeline = reporting.pipeline_counts(conn, window)
        committee = reporting.committee_counts(conn, policy)
        booked = reporting.bookings(conn, window)
        spend = reporting.spend_rows(conn, window)
        customer_accounts = reporting.customer_accounts_by_source(conn, policy, window)
    cohorts = cohort_funnels(counts, policy)
    return FunnelReport(
        policy_version=policy.version,
        start=window[0],
        end=window[1],
        cohorts=cohorts,
        periods=period_funnels(counts, policy),
        stages=stage_distribution(counts, policy),
        benchmarks=benchmark_checks(cohorts[-1], policy),
        time_in_stage=time_in_stage(stays, policy),
        sla=sla_compliance(sla, policy),
        rejected_mqls=rejected_mql_reasons(rejections),
        pipeline=pipeline_health_from(pipeline),
        committee=committee_coverage_from(committee),
        sources=by_source(counts, policy, spend, customer_accounts),
        economics=unit_economics(
            revenue_base_from(booked, *window),
            sum(s.amount for s in spend),
            policy.economics,
            gross_margin=gross_margin,
            annual_churn=annual_churn,
        ),
        seconds=time.perf_counter() - began,
    )


@dataclass(frozen=True, slots=True)
class ForecastResult:
    """What `leadledger forecast` shows."""

    policy_version: str
    won_since: datetime
    report: ForecastReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"policy_version": self.policy_version, "won_since": self.won_since, **asdict(self.report)}


def forecast_report(engine: Engine, now: datetime, *, won_since: datetime | None = None) -> ForecastResult:
    """Open pipeline weighted by stage; won (signed AND booked) since the start of the month by default."""
    since = won_since or datetime(now.year, now.month, 1, tzinfo=UTC)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        deals = reporting.deals(conn)
    return ForecastResult(
        policy_version=policy.version, won_since=since, report=forecast(deals, policy, won_since=since)
    )
