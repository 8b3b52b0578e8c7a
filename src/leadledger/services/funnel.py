"""`leadledger funnel`, `sources` and `forecast`: read the pre-counted inputs, run the pure metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

from leadledger.domain.economics import SourceRow, UnitEconomics, by_source, revenue_base_from, unit_economics
from leadledger.domain.followup import (
    RejectionReason,
    SlaCompliance,
    StageTime,
    StayCount,
    rejected_mql_reasons,
    sla_compliance,
    time_in_stage,
)
from leadledger.domain.funnel import (
    BenchmarkCheck,
    CohortFunnel,
    FunnelCounts,
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
from leadledger.domain.policy import Policy
from leadledger.store import funnel_reads, reporting

if TYPE_CHECKING:  # imported where used: `leadledger funnel` has no use for the forecast's modules
    from leadledger.domain.forecast import ForecastReport

P = ParamSpec("P")
R = TypeVar("R")


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


class _InOrder(Executor):
    """Runs each read as it is submitted: for a database only one connection can see (in memory)."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run `fn` now; its result or error is in the returned future."""
        done: Future[R] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed over to whoever asks for the result, as a pool would
            done.set_exception(e)
        return done


def _own_connection(engine: Engine, read: Callable[Concatenate[Connection, P], R]) -> Callable[P, R]:
    """`read` on a connection of its own, so that independent reads can run side by side."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with reporting.reading(engine) as conn:
            return read(conn, *args, **kwargs)

    return run


def _counts(
    conn: Connection, policy: Policy, window: tuple[datetime, datetime]
) -> tuple[FunnelCounts, list[StayCount]]:
    """The funnel's counts and stays from the summary, or from the ledger if the summary is stale."""
    summary = funnel_reads.summary_counts(conn, policy, window)
    if summary is not None:
        return summary
    return reporting.funnel_counts(conn, policy, window), reporting.stay_counts(conn, window)


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
    # The reads are independent and mostly wait on the database (SQLite and psycopg release the GIL
    # while a statement runs), so they go through two connections at once, the longest first, and
    # those that need no policy start while it is parsed. Each statement already saw its own
    # snapshot on one connection (no transaction spans them on SQLite, READ COMMITTED on
    # PostgreSQL), so two connections change nothing about consistency.
    workers = reporting.concurrent_reads(engine)
    pool: Executor = ThreadPoolExecutor(max_workers=workers) if workers > 1 else _InOrder()
    try:

        def read(fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
            return pool.submit(_own_connection(engine, fn), *args, **kwargs)

        pipeline = read(reporting.pipeline_counts, window)
        booked = read(reporting.bookings, window)
        spend = read(reporting.spend_rows, window)
        # Imported here, not at the top: the policy parser's models take a fifth of a second to
        # build in a fresh process, time the reads above use.
        from leadledger.store.policies import load_active_policy

        with engine.connect() as conn:
            policy = load_active_policy(conn)
        sla = read(reporting.sla_counts, policy, now, window)
        customer_accounts = read(reporting.customer_accounts_by_source, policy, window)
        rejections = read(reporting.rejection_counts, policy, window)
        committee = read(reporting.committee_counts, policy)
        counts_and_stays = read(_counts, policy, window)  # whole months from the month rows: short
        counts, stays = counts_and_stays.result()
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
            sources=by_source(counts, policy, spend.result(), customer_accounts.result()),
            rejected_mqls=rejected_mql_reasons(rejections.result()),
            pipeline=pipeline_health_from(pipeline.result()),
            committee=committee_coverage_from(committee.result()),
            economics=unit_economics(
                revenue_base_from(booked.result(), *window),
                sum(s.amount for s in spend.result()),
                policy.economics,
                gross_margin=gross_margin,
                annual_churn=annual_churn,
            ),
            sla=sla_compliance(sla.result(), policy),  # last: the longest read
            seconds=time.perf_counter() - began,
        )
    finally:
        pool.shutdown(cancel_futures=True)  # after an error, reads not yet begun are dropped


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
    from leadledger.domain.forecast import forecast
    from leadledger.store.policies import load_active_policy  # see funnel_report

    since = won_since or datetime(now.year, now.month, 1, tzinfo=UTC)
    with engine.connect() as conn:
        policy = load_active_policy(conn)
        deals = reporting.deals(conn)
    return ForecastResult(
        policy_version=policy.version, won_since=since, report=forecast(deals, policy, won_since=since)
    )
