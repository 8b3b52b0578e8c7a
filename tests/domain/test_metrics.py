"""Funnel metrics over a handful of contacts small enough to count by hand.

The Lead-First cast (main stages lead 0, mql 1, sal 2, sql 3, opportunity 4, customer 5):
  A recycled lead: created Jan 1, MQL Jan 11, nurture Jan 21, MQL again Mar 2 (now mql)
  B skipped stage: created Jan 1, MQL Jan 3, straight to SQL Jan 5 (SAL skipped; now sql)
  C straight to customer: created Jan 1, customer Jan 31 (now customer)
  D rejected MQL: created Jan 1, MQL Jan 2, SAL Jan 4, back to MQL Jan 6 (now mql)
  E a February lead that never moved
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadledger.domain.economics import RevenueBase, Spend, by_source, unit_economics
from leadledger.domain.followup import (
    RejectionCount,
    StayCount,
    completed_stays,
    is_rejection,
    rejected_mql_reasons,
    rejection_stages,
    sla_compliance,
    sla_count,
    stay_bucket,
    time_in_stage,
)
from leadledger.domain.funnel import (
    ALL,
    FunnelCounts,
    Journey,
    benchmark_checks,
    cohort_funnels,
    count_journeys,
    journey_of,
    period_funnels,
    stage_distribution,
)
from leadledger.domain.policy import Economics, Policy
from leadledger.domain.records import Contact, StageChange
from leadledger.domain.stats import mean, quantile


def d(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def ch(cid: int, frm: str | None, to: str, at: datetime, actor: str = "rep", reason: str = "") -> StageChange:
    return StageChange(contact_id=cid, from_stage=frm, to_stage=to, at=at, actor=actor, reason=reason)


LEDGER = {
    1: [ch(1, None, "lead", d(1, 1)), ch(1, "lead", "mql", d(1, 11), "rule:score"),
        ch(1, "mql", "nurture", d(1, 21), "sam", "timing: after budget cycle"),
        ch(1, "nurture", "mql", d(3, 2), "rule:score")],
    2: [ch(2, None, "lead", d(1, 1)), ch(2, "lead", "mql", d(1, 3), "rule:score"),
        ch(2, "mql", "sql", d(1, 5), "rule:trial")],
    3: [ch(3, None, "lead", d(1, 1)), ch(3, "lead", "customer", d(1, 31), "rule:account-customer")],
    4: [ch(4, None, "lead", d(1, 1)), ch(4, "lead", "mql", d(1, 2), "rule:score"),
        ch(4, "mql", "sal", d(1, 4), "ava"), ch(4, "sal", "mql", d(1, 6), "ravi", "Wrong persona")],
    5: [ch(5, None, "lead", d(2, 1))],
}
CONTACTS = {
    1: Contact(id=1, email="a@x.com", source="form_fill", stage="mql", created_at=d(1, 1)),
    2: Contact(id=2, email="b@x.com", source="free_trial", stage="sql", created_at=d(1, 1)),
    3: Contact(id=3, email="c@x.com", source="partner_referral", stage="customer", created_at=d(1, 1)),
    4: Contact(id=4, email="d@x.com", source="form_fill", stage="mql", created_at=d(1, 1)),
    5: Contact(id=5, email="e@x.com", source="form_fill", stage="lead", created_at=d(2, 1)),
}


@pytest.fixture
def journeys(lead_first: Policy) -> list[Journey]:
    return [journey_of(CONTACTS[i], LEDGER[i], lead_first) for i in sorted(CONTACTS)]


@pytest.fixture
def counts(journeys: list[Journey], lead_first: Policy) -> FunnelCounts:
    return count_journeys(journeys, lead_first)


def test_quantiles_are_nearest_rank_over_histograms() -> None:
    assert quantile([(1, 1), (2, 1), (10, 1), (30, 1)], 0.5) == 2
    assert quantile([(1, 1), (2, 1), (10, 1), (30, 1)], 0.9) == 30
    assert quantile([(5, 3), (1, 1)], 0.5) == 5
    assert quantile([], 0.5) is None
    assert mean([(10, 1), (40, 3)]) == pytest.approx(32.5)


def test_journey_keeps_first_reach_and_counts_skipped_stages(journeys: list[Journey]) -> None:
    a, b, c, dd, _ = journeys
    assert a.reached_at[1] == d(1, 11)  # the re-entry on Mar 2 does not move the first MQL
    assert a.furthest == 1 and a.current_stage == "mql"
    assert b.reached_at[2] == d(1, 5)  # SAL skipped: passed through when SQL was entered
    assert b.furthest == 3
    assert c.reached_at == (d(1, 1),) + (d(1, 31),) * 5  # every stage passed on the way to customer
    assert dd.furthest == 2 and dd.current_stage == "mql"  # the backward move keeps how far it got


def test_cohort_funnel_counts_each_contact_once_per_stage(counts: FunnelCounts, lead_first: Policy) -> None:
    funnels = {f.cohort: f for f in cohort_funnels(counts, lead_first)}
    jan = funnels["2026-01"]
    assert jan.size == 4
    assert [s.contacts for s in jan.stages] == [4, 4, 3, 2, 1, 1]
    assert [s.rate_from_previous for s in jan.stages][1:] == pytest.approx([1.0, 0.75, 2 / 3, 0.5, 1.0])
    mql = jan.stages[1]
    assert (mql.median_days, mql.p90_days) == (2.0, 30.0)  # days to MQL: D 1, B 2, A 10, C 30
    assert jan.stages[5].median_days == 30.0
    assert funnels["2026-02"].size == 1 and funnels["2026-02"].reached("mql") == 0
    total = funnels[ALL]
    assert total.size == 5 and total.reached("mql") == 4
    assert total.stages[1].rate_from_entry == pytest.approx(0.8)
    assert list(funnels)[-1] == ALL


def test_period_funnel_counts_first_reaches_only(counts: FunnelCounts, lead_first: Policy) -> None:
    periods = {p.month: p for p in period_funnels(counts, lead_first)}
    assert set(periods) == {"2026-01", "2026-02"}  # A's MQL re-entry in March is not a new MQL
    jan = periods["2026-01"]
    assert [s.contacts for s in jan.stages] == [4, 4, 3, 2, 1, 1]
    assert [s.contacts for s in periods["2026-02"].stages] == [1, 0, 0, 0, 0, 0]


def test_window_filters_cohorts_by_creation_and_periods_by_reach(
    journeys: list[Journey], lead_first: Policy
) -> None:
    feb = count_journeys(journeys, lead_first, start=d(2, 1), end=d(3, 1))
    assert sum(j.contacts for j in feb.journeys) == 1
    assert {(p.month, p.stage) for p in feb.periods} == {("2026-02", "lead")}


def test_current_and_furthest_stage_side_by_side(counts: FunnelCounts, lead_first: Policy) -> None:
    dist = {s.stage: (s.current, s.furthest) for s in stage_distribution(counts, lead_first)}
    assert dist == {
        "lead": (1, 1),
        "mql": (2, 1),
        "sal": (0, 1),
        "sql": (1, 1),
        "customer": (1, 1),
    }


def test_benchmarks_flag_rates_far_from_the_line(counts: FunnelCounts, lead_first: Policy) -> None:
    total = cohort_funnels(counts, lead_first)[-1]
    checks = {c.name: c for c in benchmark_checks(total, lead_first)}
    assert checks["lead→prospect"].rate == pytest.approx(2 / 5)  # B and C reached SQL
    assert checks["lead→prospect"].flag == "far above"  # 40 % vs 20 % ± 50 %
    assert checks["prospect→customer"].rate == pytest.approx(1 / 2)
    # with only the February lead left, lead→prospect is 0 and there is no prospect to convert
    only_lead = FunnelCounts(
        journeys=tuple(j for j in counts.journeys if j.furthest_stage == "lead"), reaches=(), periods=()
    )
    flags = [c.flag for c in benchmark_checks(cohort_funnels(only_lead, lead_first)[-1], lead_first)]
    assert flags == ["far below", "no data"]


def test_time_in_stage_from_completed_stays(lead_first: Policy) -> None:
    stays = [
        StayCount(stage=stage, hours=stay_bucket(hours), stays=1)
        for cid in sorted(LEDGER)
        for stage, hours in completed_stays(LEDGER[cid])
    ]
    by_stage = {t.stage: t for t in time_in_stage(stays, lead_first)}
    # MQL stays: A 240 h, B 48 h, D 48 h → median 2 days, p90 10 days
    assert by_stage["mql"].stays == 3
    assert (by_stage["mql"].median_days, by_stage["mql"].p90_days) == (2.0, 10.0)
    assert by_stage["nurture"].median_days == 40.0
    assert "customer" not in by_stage  # C's customer stay is not over: not a completed stay
    assert stay_bucket(71.9) == 71.0 and stay_bucket(80.0) == 72.0


def test_sla_compliance_met_late_missed_pending(lead_first: Policy) -> None:
    now = d(1, 10)
    cells = [
        sla_count("sal", d(1, 4), d(1, 5, 12), now, 48),  # 36 h: met
        sla_count("sal", d(1, 4), d(1, 7, 1), now, 48),  # 73 h: late
        sla_count("sal", d(1, 4), None, now, 48),  # never touched, 6 days on: missed
        sla_count("sal", now - timedelta(hours=1), None, now, 48),  # still within the SLA
    ]
    (sal,) = sla_compliance(cells, lead_first)
    assert (sal.met, sal.late, sal.missed, sal.pending, sal.entries) == (1, 1, 1, 1, 4)
    assert sal.compliance == pytest.approx(1 / 3)
    assert sal.median_hours_to_touch == 36.0


def test_rejected_mqls_are_people_sending_qualified_records_back(lead_first: Policy) -> None:
    assert rejection_stages(lead_first) == ("mql", "sal")
    changes = [c for cid in sorted(LEDGER) for c in LEDGER[cid]]
    rejected = [c for c in changes if is_rejection(c, lead_first)]
    assert [(c.contact_id, c.to_stage) for c in rejected] == [(1, "nurture"), (4, "mql")]
    dormancy = ch(9, "mql", "nurture", d(5, 1), "rule:dormancy", "no activity for 180 days")
    assert not is_rejection(dormancy, lead_first)
    reasons = rejected_mql_reasons(
        [
            RejectionCount(from_stage="sal", to_stage="mql", reason="Wrong persona", rejections=3),
            RejectionCount(from_stage="sal", to_stage="disqualified", reason="wrong  persona", rejections=1),
            RejectionCount(from_stage="mql", to_stage="nurture", reason="timing", rejections=4),
        ]
    )
    assert [(r.reason, r.rejections) for r in reasons] == [("timing", 4), ("wrong persona", 4)]
    assert reasons[1].share == 0.5 and reasons[1].to_stages == ("disqualified", "mql")


def test_by_source_volume_conversion_cost_and_cac(counts: FunnelCounts, lead_first: Policy) -> None:
    spend = [
        Spend(source="form_fill", month="2026-01", amount=3000.0),
        Spend(source="form_fill", month="2026-02", amount=1000.0),
        Spend(source="partner_referral", month="2026-01", amount=900.0),
        Spend(source="webinar", month="2026-01", amount=500.0),
    ]
    rows = {r.source: r for r in by_source(counts, lead_first, spend, {"partner_referral": 1})}
    ff = rows["form_fill"]
    assert (ff.leads, ff.prospects, ff.customers) == (3, 0, 0)
    assert ff.cost_per_lead == pytest.approx(4000 / 3) and ff.cac is None  # no customer: no CAC
    pr = rows["partner_referral"]
    assert (pr.lead_to_prospect, pr.lead_to_customer, pr.cac) == (1.0, 1.0, 900.0)
    assert rows["free_trial"].cost_per_lead is None  # no spend recorded: unknown, not free
    assert rows["webinar"].leads == 0 and rows["webinar"].spend == 500.0
    assert next(iter(rows)) == "form_fill"  # largest source first


def test_clv_cac_and_the_three_to_one_line() -> None:
    base = RevenueBase(
        booked_revenue=40_000.0, paying_accounts=2, new_customer_accounts=1, customer_accounts=4,
        churned_accounts=1, years=1.0,
    )
    ue = unit_economics(base, 4_000.0, Economics(gross_margin=0.75, annual_churn=None))
    assert ue.churn_measured and ue.annual_churn == 0.25
    assert ue.annual_revenue_per_account == 20_000.0
    assert ue.clv == pytest.approx(20_000 * 0.75 / 0.25)
    assert ue.cac == 4_000.0 and ue.clv_to_cac == pytest.approx(15.0) and ue.healthy
    flagged = unit_economics(base, 30_000.0, Economics(), gross_margin=0.5, annual_churn=0.5)
    assert not flagged.churn_measured and flagged.clv == pytest.approx(20_000.0)
    assert flagged.clv_to_cac == pytest.approx(20_000 / 30_000) and flagged.healthy is False
    half_year = unit_economics(
        RevenueBase(booked_revenue=0.0, paying_accounts=0, new_customer_accounts=0, customer_accounts=4,
                    churned_accounts=1, years=0.5),
        0.0,
        Economics(),
    )
    assert half_year.annual_churn == 0.5 and half_year.clv is None and half_year.cac is None
