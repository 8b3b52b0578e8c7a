"""Forecast and pipeline health over six deals small enough to add up by hand.

  W1 new business, created Jan 1, signed Feb 10, booked Feb 15 (45 days), $30,000: won
  W2 expansion of W1's customer, created Feb 1, signed Mar 1, booked Mar 3 (30 days), $10,000: won
  L1 lost on price, $20,000
  O1 proposal out, $50,000, champion + economic buyer, need/authority/timeline confirmed
  O2 signed in June but not booked, $40,000, champion only, only the need confirmed
  O3 labelled closed_won on a verbal yes (neither signed nor booked), $25,000, enterprise account,
     no committee and no evidence
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from leadledger.domain.forecast import forecast, missing_evidence, opportunity_stage
from leadledger.domain.pipeline import (
    Deal,
    committee_counts,
    committee_coverage,
    committee_coverage_from,
    pipeline_counts,
    pipeline_health,
)
from leadledger.domain.policy import Forecast, ForecastCategory, ForecastWeight, Policy
from leadledger.domain.records import ContactRole, Opportunity


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def deal(oid: int, *, created: datetime, employees: int = 200, evidence: tuple[str, ...] = (),
         roles: tuple[str, ...] = (), **kw: object) -> Deal:
    opp = Opportunity(
        id=oid, account_id=oid, name=f"deal {oid}",
        roles=tuple(ContactRole(contact_id=oid * 10 + i, role=r) for i, r in enumerate(roles)),
        **kw,  # type: ignore[arg-type]
    )
    return Deal(opportunity=opp, created_at=created, employees=employees, evidence=frozenset(evidence))


BANT = ("need", "authority", "timeline")
DEALS = [
    deal(1, created=d(1, 1), stage="closed_won", amount=30_000.0, signed_at=d(2, 10), booked_at=d(2, 15)),
    deal(2, created=d(2, 1), type="expansion", stage="closed_won", amount=10_000.0, signed_at=d(3, 1),
         booked_at=d(3, 3)),
    deal(3, created=d(1, 10), stage="closed_lost", amount=20_000.0, lost_reason="price"),
    deal(4, created=d(4, 1), stage="proposal", amount=50_000.0, expected_close=d(7, 15),
         roles=("champion", "economic_buyer"), evidence=BANT),
    deal(5, created=d(4, 1), stage="negotiation", amount=40_000.0, expected_close=d(6, 30),
         signed_at=d(6, 1), roles=("champion",), evidence=("need",)),
    deal(6, created=d(5, 1), stage="closed_won", amount=25_000.0, expected_close=d(6, 30), employees=5000),
]


def test_won_means_signed_and_booked_and_a_label_is_not_enough(lead_first: Policy) -> None:
    report = forecast(DEALS, lead_first)
    assert (report.won_deals, report.won_amount) == (2, 40_000.0)  # O3's closed_won label is not won
    lines = {(line.category, line.month): line for line in report.lines}
    assert lines["won", "2026-02"].amount == 30_000.0 and lines["won", "2026-03"].amount == 10_000.0
    assert lines["best_case", "2026-07"].weighted == pytest.approx(25_000.0)  # proposal × 0.5
    assert lines["commit", "2026-06"].weighted == pytest.approx(36_000.0)  # signed, not booked × 0.9
    assert lines["pipeline", "2026-06"].weighted == pytest.approx(2_500.0)  # unlisted stage × 0.1
    assert (report.open_deals, report.open_amount) == (3, 115_000.0)
    assert report.weighted_amount == pytest.approx(63_500.0)
    assert [line.category for line in report.lines][:2] == ["won", "won"]  # won first, then commit…
    assert report.category_total("commit") == 40_000.0


def test_forecast_shows_the_amount_that_lacks_qualification_evidence(lead_first: Policy) -> None:
    assert opportunity_stage(lead_first) == "opportunity"
    assert missing_evidence(DEALS[3], lead_first) == ()
    assert missing_evidence(DEALS[4], lead_first) == ("authority", "timeline")
    assert missing_evidence(DEALS[5], lead_first) == (*BANT, "champion", "initiative", "next_meeting")
    report = forecast(DEALS, lead_first)
    assert (report.deals_lacking_evidence, report.amount_lacking_evidence) == (2, 65_000.0)
    assert report.weighted_lacking_evidence == pytest.approx(36_000.0 + 2_500.0)
    assert dict(report.missing_fields)["authority"] == 2 and dict(report.missing_fields)["champion"] == 1


def test_won_since_and_omitted_category(lead_first: Policy) -> None:
    assert forecast(DEALS, lead_first, won_since=d(3, 1)).won_amount == 10_000.0
    omit = Forecast(
        stages=(("proposal", ForecastWeight(probability=0.5, category=ForecastCategory.OMITTED)),),
    )
    report = forecast(DEALS, replace(lead_first, forecast=omit))
    assert report.weighted_amount == pytest.approx(36_000.0 + 2_500.0)  # the proposal is left out
    assert report.open_amount == 115_000.0


def test_pipeline_health_win_rate_cycle_and_velocity() -> None:
    health = pipeline_health(DEALS, start=d(1, 1), end=d(4, 1))
    assert (health.deals_created, health.won, health.lost) == (3, 2, 1)
    assert health.win_rate == pytest.approx(2 / 3)
    assert health.average_won_amount == 20_000.0
    assert (health.cycle_median_days, health.cycle_mean_days) == (30.0, 37.5)
    assert health.open_deals_now == 3 and health.open_amount_now == 115_000.0
    assert health.velocity_per_day == pytest.approx(3 * (2 / 3) * 20_000 / 37.5)
    assert (health.expansion_won, health.expansion_amount_won) == (1, 10_000.0)
    nothing_closed = pipeline_health(DEALS, start=d(4, 1))
    assert nothing_closed.win_rate is None and nothing_closed.velocity_per_day is None


def test_committee_coverage_against_required_roles(lead_first: Policy) -> None:
    cov = committee_coverage(DEALS, lead_first)
    assert (cov.open_deals, cov.covered) == (3, 1)
    assert cov.amount_not_covered == 65_000.0
    # O2 lacks the economic buyer; O3 (enterprise) lacks all five enterprise roles
    assert dict(cov.missing_roles) == {
        "economic_buyer": 2, "champion": 1, "finance": 1, "it": 1, "executive_sponsor": 1,
    }
    assert cov.missing_roles[0] == ("economic_buyer", 2)


def test_counts_list_amounts_in_deal_order_whatever_order_the_deals_come_in(lead_first: Policy) -> None:
    backwards = list(reversed(DEALS))
    window = {"start": d(1, 1), "end": d(4, 1)}
    assert pipeline_counts(backwards, **window) == pipeline_counts(DEALS, **window)
    counts = committee_counts(backwards, lead_first)
    assert counts.uncovered_amounts == (40_000.0, 25_000.0)  # O2, then O3
    assert committee_coverage_from(counts) == committee_coverage(DEALS, lead_first)

