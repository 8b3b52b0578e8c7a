"""Rule scoring: hand-computable cases for fit, decay, caps and negative signals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from leadledger.domain.policy import FitRule, Policy, Scoring, Signal
from leadledger.domain.records import Event
from leadledger.domain.scoring import decay_factor, fit_rule_matches, score_contact
from tests.builders import account, contact
from tests.conftest import NOW


def ev(t: str, days_ago: float, i: int = 0) -> Event:
    return Event(id=f"{t}-{i}-{days_ago}", contact_id=1, type=t, occurred_at=NOW - timedelta(days=days_ago))


SCORING = Scoring(
    fit_rules=(
        FitRule(field="employees", op="gte", value=50, points=15, label="50+"),
        FitRule(field="industry", op="in", value=("software", "healthcare"), points=10, label="industry"),
        FitRule(field="email_domain", op="ends_with", value=".edu", points=-40, label="student"),
        FitRule(field="tech_stack", op="contains", value="salesforce", points=5, label="crm"),
    ),
    signals=(
        Signal(event_type="demo_request", points=40, cap=60),
        Signal(event_type="page_view", points=2),
        Signal(event_type="unsubscribe", points=-30, cap=20),
    ),
    half_life_days=30,
)


def test_fit_points_add_up_for_matching_rules() -> None:
    s = score_contact(contact(), account(tech_stack=("salesforce", "slack")), [], SCORING, NOW)
    assert s.fit == 15 + 10 + 5
    assert {i.signal for i in s.items} == {"50+", "industry", "crm"}


def test_missing_firmographics_never_match() -> None:
    s = score_contact(contact(account_id=None), None, [], SCORING, NOW)
    assert s.fit == 0 and s.total == 0


def test_student_domain_is_a_negative_fit_signal() -> None:
    s = score_contact(contact(email="kim@state.edu"), account(), [], SCORING, NOW)
    assert s.fit == 15 + 10 - 40


def test_one_event_one_half_life_ago_counts_half() -> None:
    s = score_contact(contact(), None, [ev("page_view", 30)], SCORING, NOW)
    assert s.behavior == pytest.approx(1.0)  # 2 points × 0.5


def test_cap_limits_a_signal() -> None:
    s = score_contact(contact(), None, [ev("demo_request", 0, 1), ev("demo_request", 0, 2)], SCORING, NOW)
    assert s.behavior == 60  # 80 capped at 60
    assert "capped" in next(i.detail for i in s.items if i.signal == "demo_request")


def test_negative_signal_is_floored_at_minus_cap() -> None:
    s = score_contact(contact(), None, [ev("unsubscribe", 0)], SCORING, NOW)
    assert s.behavior == -20


def test_breakdown_sums_to_total() -> None:
    events = [ev("demo_request", 3), ev("page_view", 1), ev("page_view", 40, 2)]
    s = score_contact(contact(), account(), events, SCORING, NOW)
    assert sum(i.points for i in s.items) == pytest.approx(s.total)


def test_decay_factor_halves_every_half_life() -> None:
    day = 86_400
    assert decay_factor(0, 10) == 1
    assert decay_factor(10 * day, 10) == pytest.approx(0.5)
    assert decay_factor(20 * day, 10) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("between", (50, 200), 50.0, True),
        ("between", (50, 200), 200.0, False),
        ("lte", 10, 10.0, True),
        ("ne", "software", "retail", True),
        ("not_in", ("a", "b"), "c", True),
        ("contains", "ops", "devops", True),
        ("eq", "US", "us", True),
    ],
)
def test_fit_operators(op: str, value: object, actual: object, expected: bool) -> None:
    field = "employees" if isinstance(actual, float) else "industry"
    rule = FitRule(field=field, op=op, value=value, points=1, label="r")  # type: ignore[arg-type]
    assert fit_rule_matches(rule, actual) is expected  # type: ignore[arg-type]


def test_builtin_policy_mql_needs_both_fit_and_intent(lead_first: Policy) -> None:
    fit_only = score_contact(contact(), account(), [], lead_first.scoring, NOW)
    assert fit_only.fit >= lead_first.scoring.fit_minimum
    assert fit_only.total < lead_first.scoring.mql_threshold
    intent = [ev("demo_request", 1), ev("pricing_page_view", 2, 1), ev("pricing_page_view", 3, 2)]
    both = score_contact(contact(), account(), intent, lead_first.scoring, NOW)
    assert both.total >= lead_first.scoring.mql_threshold
    no_fit = score_contact(
        contact(seniority="individual", account_id=None), None, intent, replace(lead_first.scoring), NOW
    )
    assert no_fit.fit < lead_first.scoring.fit_minimum
