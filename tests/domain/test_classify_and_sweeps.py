"""The four-question classifier, account-level customer status, SLA and dormancy sweeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from leadledger.domain.classify import classify
from leadledger.domain.policy import Policy
from leadledger.domain.records import ContactRole
from leadledger.domain.sweeps import dormancy_moves, sla_breaches
from tests.builders import T0, contact, evidence_for, facts, won
from tests.conftest import NOW


def ev(*fields: str) -> dict:  # type: ignore[type-arg]
    return {e.field: e for e in evidence_for(1, T0, *fields)}


def test_four_questions_in_order(lead_first: Policy) -> None:
    assert classify(facts(fit=0), lead_first).label == "lead"
    assert classify(facts(evidence=ev("authority")), lead_first).label == "lead"  # no need
    assert classify(facts(evidence=ev("need")), lead_first).label == "lead"  # no committee access
    c = classify(facts(evidence=ev("need", "authority")), lead_first)
    assert c.label == "prospect"
    assert [a.yes for a in c.answers] == [True, True, True, False]


def test_committee_role_on_an_opportunity_counts_as_access(lead_first: Policy) -> None:
    opp = replace(won(), signed_at=None, booked_at=None, roles=(ContactRole(contact_id=1, role="champion"),))
    assert classify(facts(evidence=ev("need"), opportunities=(opp,)), lead_first).label == "prospect"


def test_contact_of_signed_and_booked_account_is_a_customer_account(lead_first: Policy) -> None:
    c = classify(facts(fit=0, opportunities=(won(),)), lead_first)
    assert c.label == "customer" and c.account_is_customer and c.route_to == "ann.ae"


def test_signed_not_booked_is_not_a_customer(lead_first: Policy) -> None:
    c = classify(facts(opportunities=(replace(won(), booked_at=None),)), lead_first)
    assert not c.account_is_customer and c.label != "customer"


def test_expansion_opportunity_keeps_the_account_a_customer(lead_first: Policy) -> None:
    expansion = replace(won(), id=2, type="expansion", signed_at=None, booked_at=None)
    assert facts(opportunities=(won(), expansion)).account_is_customer


def test_churn_after_last_booking_ends_customer_status(lead_first: Policy) -> None:
    churned = facts(
        account=replace(facts().account, churned_at=T0 + timedelta(days=90)), opportunities=(won(),)
    )  # type: ignore[arg-type]
    assert not churned.account_is_customer
    assert classify(churned, lead_first).label != "customer"


def test_sla_breach_when_first_touch_is_late_or_missing(lead_first: Policy) -> None:
    entered = NOW - timedelta(hours=72)
    sal = contact(stage="sal", owner="sam", stage_entered_at=entered)
    never = facts(contact=sal)
    late = facts(contact=replace(sal, id=2), first_touch_at=entered + timedelta(hours=50))
    on_time = facts(contact=replace(sal, id=3), first_touch_at=entered + timedelta(hours=5))
    fresh = facts(contact=replace(sal, id=4, stage_entered_at=NOW - timedelta(hours=3)))
    found = {b.contact_id: b for b in sla_breaches([never, late, on_time, fresh], lead_first, NOW)}
    assert set(found) == {1, 2}
    assert round(found[1].hours_late) == 24 and round(found[2].hours_late) == 2


def test_dormancy_recycles_quiet_records_but_not_customers(lead_first: Policy) -> None:
    old = NOW - timedelta(days=200)
    quiet = facts(contact=contact(stage="mql", created_at=old), last_activity_at=old)
    active = facts(
        contact=contact(id=2, stage="mql", created_at=old), last_activity_at=NOW - timedelta(days=3)
    )
    customer = facts(
        contact=contact(id=3, stage="sql", created_at=old), last_activity_at=old, opportunities=(won(),)
    )
    moves = list(dormancy_moves([quiet, active, customer], lead_first, NOW))
    assert [(m.contact_id, m.to_stage, m.actor) for m in moves] == [(1, "nurture", "rule:dormancy")]
