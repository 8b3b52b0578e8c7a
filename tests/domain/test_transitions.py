"""Gates and the transition function: refusals name what is missing; approvals carry evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from leadledger.domain.policy import DirectPurchase, EdgeCases, Policy
from leadledger.domain.transitions import Approved, Refused, decide_transition
from tests.builders import T0, account, contact, evidence_for, facts, won
from tests.conftest import NOW


def requirements(d: object) -> set[str]:
    assert isinstance(d, Refused), d
    return {m.requirement for m in d.missing}


def test_lead_straight_to_customer_is_refused_naming_what_is_missing(lead_first: Policy) -> None:
    d = decide_transition(facts(), "customer", lead_first, now=NOW, actor="rep")
    assert requirements(d) == {"enter_from", "signed_and_booked"}
    assert "signed date" in Refused.explain(d)  # type: ignore[arg-type]


def test_sql_without_evidence_lists_need_authority_timing(lead_first: Policy) -> None:
    d = decide_transition(
        facts(contact=contact(stage="sal", owner="sam")), "sql", lead_first, now=NOW, actor="sam"
    )
    reqs = requirements(d)
    assert "evidence:need,authority,timeline" in reqs
    assert {"two_way_interaction", "buying_signal"} <= reqs


def test_sql_with_evidence_succeeds_and_snapshots_it(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="sal", owner="sam"), two_way_count=2, buying_signal_count=1)
    supplied = evidence_for(1, NOW, "need", "authority", "timeline")
    d = decide_transition(f, "sql", lead_first, now=NOW, actor="sam", new_evidence=supplied)
    assert isinstance(d, Approved)
    snap = d.change.evidence["evidence"]
    assert set(snap) == {"need", "authority", "timeline"}  # type: ignore[arg-type]
    assert d.change.policy_version == lead_first.version
    assert (d.change.from_stage, d.change.to_stage, d.change.actor) == ("sal", "sql", "sam")


def test_unknown_evidence_field_is_refused(lead_first: Policy) -> None:
    d = decide_transition(
        facts(), "mql", lead_first, now=NOW, actor="x", new_evidence=evidence_for(1, NOW, "vibes")
    )
    assert requirements(d) == {"evidence"}


def test_enterprise_accounts_need_champion_initiative_and_next_meeting(lead_first: Policy) -> None:
    big = facts(
        contact=contact(stage="sal", owner="sam"),
        account=account(employees=5000),
        two_way_count=1,
        buying_signal_count=1,
        evidence={e.field: e for e in evidence_for(1, T0, "need", "authority", "timeline")},
    )
    d = decide_transition(big, "sql", lead_first, now=NOW, actor="sam")
    assert requirements(d) == {"enterprise:champion,initiative,next_meeting"}


def test_customer_with_signed_and_booked_opportunity(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="opportunity"), opportunities=(won(),))
    d = decide_transition(f, "customer", lead_first, now=NOW, actor="cs")
    assert isinstance(d, Approved)
    assert d.change.evidence["won_opportunities"]


def test_signed_but_not_booked_is_not_won(lead_first: Policy) -> None:
    signed_only = replace(won(), booked_at=None)
    assert not signed_only.is_won
    f = facts(contact=contact(stage="opportunity"), opportunities=(signed_only,))
    d = decide_transition(f, "customer", lead_first, now=NOW, actor="cs")
    assert requirements(d) == {"signed_and_booked"}
    assert "not booked" in d.missing[0].message  # type: ignore[union-attr]


def test_backward_move_needs_an_allowed_rule_and_reason(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="opportunity"))
    assert requirements(decide_transition(f, "sql", lead_first, now=NOW, actor="ae")) == {"reason"}
    ok = decide_transition(f, "sql", lead_first, now=NOW, actor="ae", reason="deal stalled")
    assert isinstance(ok, Approved) and ok.change.evidence == {"backward_move": True}
    assert requirements(decide_transition(f, "lead", lead_first, now=NOW, actor="ae", reason="x")) == {
        "backward_move"
    }


def test_side_stage_needs_reason(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="sql"))
    assert requirements(decide_transition(f, "disqualified", lead_first, now=NOW, actor="ae")) == {"reason"}
    assert isinstance(
        decide_transition(f, "disqualified", lead_first, now=NOW, actor="ae", reason="no budget"), Approved
    )


def test_existing_customer_contact_is_never_reset_to_lead(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="sql"), opportunities=(won(),))
    d = decide_transition(f, "nurture", lead_first, now=NOW, actor="mkt", reason="quiet")
    assert requirements(d) == {"existing_customer"}
    assert "ann.ae" in d.missing[0].message  # type: ignore[union-attr]


def test_partner_sourced_needs_fit_and_buying_signal(lead_first: Policy) -> None:
    f = facts(
        contact=contact(stage="sal", source="partner_referral", owner="sam"),
        fit=5,
        two_way_count=1,
        evidence={e.field: e for e in evidence_for(1, T0, "need", "authority", "timeline")},
    )
    assert {"icp_fit", "buying_signal"} <= requirements(
        decide_transition(f, "sql", lead_first, now=NOW, actor="s")
    )


def test_trial_usage_plus_fit_qualifies_without_bant(lead_first: Policy) -> None:
    trial = facts(contact=contact(source="free_trial"), trial_usage_count=5)
    d = decide_transition(trial, "sql", lead_first, now=NOW, actor="rule:trial")
    assert isinstance(d, Approved) and d.change.evidence["path"] == "product-led trial"
    too_little = replace(trial, trial_usage_count=2)
    assert isinstance(decide_transition(too_little, "sql", lead_first, now=NOW, actor="x"), Refused)


def test_direct_purchase_edge_case(lead_first: Policy) -> None:
    cheap = facts(opportunities=(won(amount=300.0),))
    assert isinstance(decide_transition(cheap, "customer", lead_first, now=NOW, actor="x"), Refused)
    allowed = replace(
        lead_first, edge_cases=replace(lead_first.edge_cases, direct_purchase=DirectPurchase(max_amount=500))
    )
    assert isinstance(decide_transition(cheap, "customer", allowed, now=NOW, actor="x"), Approved)
    pricey = facts(opportunities=(won(amount=5000.0),))
    assert isinstance(decide_transition(pricey, "customer", allowed, now=NOW, actor="x"), Refused)
    assert isinstance(allowed.edge_cases, EdgeCases)


def test_mql_gate_uses_score_and_fit(lead_first: Policy) -> None:
    assert requirements(decide_transition(facts(score=50), "mql", lead_first, now=NOW, actor="x")) == {
        "score_threshold"
    }
    assert isinstance(decide_transition(facts(score=120), "mql", lead_first, now=NOW, actor="x"), Approved)
    low_fit = facts(score=120, fit=10)
    assert requirements(decide_transition(low_fit, "mql", lead_first, now=NOW, actor="x")) == {"icp_fit"}


def test_opportunity_gate_needs_open_deal_with_amount_and_close(lead_first: Policy) -> None:
    f = facts(contact=contact(stage="sql"))
    assert requirements(decide_transition(f, "opportunity", lead_first, now=NOW, actor="ae")) == {
        "open_opportunity"
    }
    open_deal = replace(won(), signed_at=None, booked_at=None, expected_close=NOW + timedelta(days=30))
    ok = decide_transition(
        replace(f, opportunities=(open_deal,)), "opportunity", lead_first, now=NOW, actor="ae"
    )
    assert isinstance(ok, Approved)


def test_unknown_and_same_stage_are_refused(lead_first: Policy) -> None:
    assert requirements(decide_transition(facts(), "banana", lead_first, now=NOW, actor="x")) == {"stage"}
    assert requirements(decide_transition(facts(), "lead", lead_first, now=NOW, actor="x")) == {"stage"}
