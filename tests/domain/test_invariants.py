"""Property tests for the ledger's invariants, over random facts and random move sequences."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadledger.domain.facts import ContactFacts
from leadledger.domain.policy import Meaning, Policy
from leadledger.domain.records import Event, Opportunity, StageChange
from leadledger.domain.scoring import score_contact
from leadledger.domain.transitions import Approved, decide_transition
from leadledger.policyfile import builtin_policy_text, parse_policy
from tests.builders import T0, account, contact, evidence_for
from tests.conftest import NOW

POLICIES = [parse_policy(builtin_policy_text(n), n) for n in ("lead-first", "prospect-first")]
EVIDENCE = [
    "need",
    "authority",
    "timeline",
    "budget",
    "champion",
    "initiative",
    "next_meeting",
    "identified_pain",
    "economic_buyer",
    "metrics",
]


@st.composite
def opportunities(draw: st.DrawFn) -> Opportunity:
    signed = draw(st.booleans())
    booked = draw(st.booleans())
    return Opportunity(
        id=draw(st.integers(1, 99)),
        account_id=1,
        name="d",
        amount=draw(st.none() | st.floats(0, 1e6)),
        expected_close=draw(st.none() | st.just(NOW + timedelta(days=30))),
        signed_at=T0 if signed else None,
        booked_at=T0 + timedelta(days=1) if booked else None,
        lost_reason=draw(st.none() | st.just("price")),
    )


@st.composite
def random_facts(draw: st.DrawFn, policy: Policy) -> ContactFacts:
    stage = draw(st.sampled_from([s.name for s in policy.stages]))
    fields = draw(st.lists(st.sampled_from(EVIDENCE), unique=True))
    return ContactFacts(
        contact=contact(
            stage=stage,
            owner=draw(st.none() | st.just("sam")),
            source=draw(st.sampled_from(["form_fill", "partner_referral", "free_trial", "outbound"])),
            title=draw(st.none() | st.just("VP")),
        ),
        account=account(employees=draw(st.sampled_from([10, 200, 5000]))),
        fit=draw(st.floats(-50, 100)),
        score=draw(st.floats(-50, 300)),
        evidence={e.field: e for e in evidence_for(1, T0, *fields)},
        two_way_count=draw(st.integers(0, 3)),
        buying_signal_count=draw(st.integers(0, 3)),
        trial_usage_count=draw(st.integers(0, 8)),
        opportunities=tuple(draw(st.lists(opportunities(), max_size=3))),
    )


def gate_independently_met(f: ContactFacts, to_stage: str, policy: Policy) -> bool:
    """A second, deliberately naive reading of the gate (or the trial path) for the same facts."""
    stage = policy.stage(to_stage)
    assert stage is not None
    g = stage.gate
    trial = policy.edge_cases.trial
    if (
        trial
        and trial.to_stage == to_stage
        and f.contact.source == trial.source
        and f.trial_usage_count >= trial.min_usage_events
        and f.fit >= policy.scoring.fit_minimum
    ):
        return True
    checks = [
        all(e in f.evidence for e in g.evidence),
        not (g.enterprise_evidence and f.is_enterprise(policy))
        or all(e in f.evidence for e in g.enterprise_evidence),
        not g.icp_fit or f.fit >= policy.scoring.fit_minimum,
        not g.score_threshold or f.score >= policy.scoring.mql_threshold,
        not g.owner or bool(f.contact.owner),
        not g.two_way_interaction or f.two_way_count > 0,
        not g.buying_signal or f.buying_signal_count > 0,
        not g.signed_and_booked or any(o.signed_at and o.booked_at for o in f.opportunities),
        not g.open_opportunity
        or any(o.is_open and o.amount is not None and o.expected_close is not None for o in f.opportunities),
    ]
    return all(checks)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), policy=st.sampled_from(POLICIES))
def test_no_stage_is_entered_without_its_gates_evidence(data: st.DataObject, policy: Policy) -> None:
    f = data.draw(random_facts(policy))
    target = data.draw(st.sampled_from([s.name for s in policy.stages]))
    d = decide_transition(
        f, target, policy, now=NOW, actor="p", reason=data.draw(st.sampled_from(["", "why"]))
    )
    if not isinstance(d, Approved):
        return
    frm, to = policy.order(f.contact.stage), policy.order(target)
    if frm is not None and to is not None and to < frm:
        assert d.change.evidence == {"backward_move": True}
        return
    assert gate_independently_met(f, target, policy)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), policy=st.sampled_from(POLICIES))
def test_customer_only_with_signed_and_booked(data: st.DataObject, policy: Policy) -> None:
    f = data.draw(random_facts(policy))
    customer = policy.customer_stage
    assert customer is not None
    d = decide_transition(f, customer.name, policy, now=NOW, actor="p", reason="r")
    if isinstance(d, Approved):
        assert f.won_opportunities, "entered customer without a signed-and-booked opportunity"
        assert all(o.signed_at is not None and o.booked_at is not None for o in f.won_opportunities)
    assert customer.meaning is Meaning.CUSTOMER


def replay(f: ContactFacts, moves: list[tuple[str, str]], policy: Policy) -> list[StageChange]:
    """Fold attempted moves over a contact; approved ones advance its stage."""
    ledger = []
    for i, (target, reason) in enumerate(moves):
        d = decide_transition(f, target, policy, now=NOW + timedelta(minutes=i), actor="r", reason=reason)
        if isinstance(d, Approved):
            ledger.append(d.change)
            f = replace(f, contact=replace(f.contact, stage=target, stage_entered_at=d.change.at))
    return ledger


@settings(max_examples=150, deadline=None)
@given(data=st.data(), policy=st.sampled_from(POLICIES))
def test_replaying_the_same_history_gives_the_same_state(data: st.DataObject, policy: Policy) -> None:
    f = data.draw(random_facts(policy))
    stages = [s.name for s in policy.stages]
    moves = data.draw(st.lists(st.tuples(st.sampled_from(stages), st.sampled_from(["", "r"])), max_size=8))
    first, second = replay(f, moves, policy), replay(f, moves, policy)
    assert first == second
    for a, b in itertools.pairwise(first):
        assert b.from_stage == a.to_stage  # the ledger is a connected path


@settings(max_examples=150, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["demo_request", "page_view", "unsubscribe", "email_open", "reply"]), max_size=30
    ),
    ages=st.lists(st.floats(0, 400), min_size=30, max_size=30),
    order=st.randoms(use_true_random=False),
)
def test_score_does_not_depend_on_event_order(kinds: list[str], ages: list[float], order: object) -> None:
    policy = POLICIES[0]
    events = [
        Event(id=str(i), contact_id=1, type=k, occurred_at=NOW - timedelta(days=ages[i]))
        for i, k in enumerate(kinds)
    ]
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    a = score_contact(contact(), account(), events, policy.scoring, NOW)
    b = score_contact(contact(), account(), shuffled, policy.scoring, NOW)
    assert abs(a.total - b.total) < 1e-9
    assert a.fit == b.fit
