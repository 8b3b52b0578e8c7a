"""The rule score beside the model: same-volume counts, points scaling, thresholds, the pasteable snippet."""

from __future__ import annotations

import math

import pytest

from leadledger.domain.policy import FitRule, Scoring, Signal
from leadledger.domain.predict import rules as R
from leadledger.policyfile import builtin_policy_text, parse_policy
from leadledger.services.training.rules import policy_with_scoring


def test_same_volume_counts_by_hand() -> None:
    # Six leads; the rule flags leads 0, 1 and 4 (N = 3): leads 0 and 4 converted → 2.
    flags = [True, True, False, False, True, False]
    probabilities = [0.9, 0.2, 0.8, 0.7, 0.1, 0.3]
    outcomes = [True, False, True, True, True, False]
    v = R.same_volume(flags, probabilities, outcomes)
    # The model's top 3 are leads 0, 2, 3 (0.9, 0.8, 0.7): all converted → 3; the cut-off is 0.7.
    assert (v.leads, v.flagged, v.rule_converted, v.model_converted, v.cutoff) == (6, 3, 2, 3, 0.7)
    sentence = v.sentence("score ≥ 100")
    assert "sent sales 3 of the 6 leads, 2 of which later converted" in sentence
    assert "top 3 (probability ≥ 70.0%) held 3 later conversions (+1)" in sentence


def test_same_volume_with_no_mql() -> None:
    v = R.same_volume([False, False], [0.4, 0.6], [True, False])
    assert (v.flagged, v.rule_converted, v.model_converted, v.cutoff) == (0, 0, 0, None)
    assert "no lead of the 2" in v.sentence("score ≥ 100")


def test_points_are_log_odds_scaled_and_rounded() -> None:
    # 20 points double the odds: ln 2 of log-odds is 20 points; 0.01 rounds to 0 and is dropped.
    points = R.to_points({"a": math.log(2), "b": -math.log(2) / 2, "c": 0.01, "d": 0.0433})
    assert points == {"a": 20, "b": -10, "d": 1}  # 0.0433 × 28.85 = 1.25 → 1
    assert R.to_points({"x": 0.5}, per_log_odds=3.0) == {"x": 2}  # 1.5 rounds away from zero
    assert R.to_points({"x": -0.5}, per_log_odds=3.0) == {"x": -2}


def test_volume_threshold_flags_at_least_n() -> None:
    scores = [10.0, 50.0, 30.0, 30.0, 5.0]
    eligible = [True, True, True, True, False]
    assert R.volume_threshold(scores, eligible, 2) == 30.0  # 50 and 30 (and the tied 30: three)
    assert R.volume_threshold(scores, eligible, 1) == 50.0
    assert R.volume_threshold(scores, eligible, 9) == 10.0  # more than there are: every eligible lead
    assert R.volume_threshold(scores, eligible, 0) is None


def test_score_sums_apply_fit_rules_and_capped_signals() -> None:
    scoring = Scoring(
        fit_rules=(FitRule(field="industry", op="in", value=("software", "retail"), points=12, label="i"),
                   FitRule(field="employees", op="gte", value=50.0, points=8, label="e")),
        signals=(Signal(event_type="demo_request", points=30, cap=45),
                 Signal(event_type="bounce", points=-5, cap=5)),
        half_life_days=45,
    )
    values = {"industry": "Software", "employees": 40.0}
    fit, total = R.score_sums(values, {"demo_request": 2.0, "bounce": 3.0}, scoring)
    assert (fit, total) == (12, 12 + 45 - 5)  # 60 capped at 45; -15 capped at -5
    assert R.capped_signal("demo_request", 30, 1.5) == Signal(event_type="demo_request", points=30, cap=45)
    assert R.capped_signal("bounce", -5, 0.2).cap == 5  # never below one occurrence


def test_merge_fit_rules_joins_equal_points_of_one_field() -> None:
    rules = [FitRule(field="industry", op="eq", value="software", points=10, label="a"),
             FitRule(field="industry", op="eq", value="retail", points=-3, label="b"),
             FitRule(field="industry", op="eq", value="healthcare", points=10, label="c"),
             FitRule(field="role", op="eq", value="it", points=10, label="d")]
    merged = R.merge_fit_rules(rules)
    assert [(r.field, r.op, r.value, r.points) for r in merged] == [
        ("industry", "in", ("software", "healthcare"), 10), ("industry", "eq", "retail", -3),
        ("role", "eq", "it", 10)]


def test_by_signal_adds_an_event_types_features() -> None:
    importance = [("demo_request count", 0.02), ("industry", 0.03), ("demo_request decayed", 0.015),
                  ("demo_request days since last", 0.01), ("days since last event", 0.001)]
    assert R.by_signal(importance) == [("demo_request", pytest.approx(0.045)), ("industry", 0.03),
                                     ("days since last event", 0.001)]


def test_the_snippet_parses_with_the_real_policy_parser() -> None:
    suggestion = Scoring(
        fit_rules=(FitRule(field="industry", op="in", value=("software", "financial services"), points=15,
                           label="industry in software, financial services"),
                   FitRule(field="employees", op="gte", value=50.0, points=25, label="employees ≥ 50"),
                   FitRule(field="email_domain", op="ends_with", value=".edu", points=-40,
                           label='student "edu"')),
        signals=(Signal(event_type="pricing_page_view", points=10, cap=48),
                 Signal(event_type="bounce", points=-3, cap=3)),
        half_life_days=45, mql_threshold=57, fit_minimum=-40,
    )
    snippet = R.scoring_snippet(suggestion)
    assert snippet.startswith("scoring:\n")
    policy = parse_policy(policy_with_scoring(builtin_policy_text("lead-first"), snippet))
    assert policy.scoring == suggestion  # every rule, signal, cap and threshold as suggested
    assert policy.name == "lead-first" and policy.stage("mql") is not None  # the rest of the policy kept
    # Pasted by hand under the policy's own keys, it parses too.
    text = builtin_policy_text("lead-first")
    start, end = text.index("\nscoring:\n") + 1, text.index("\nedge_cases:")
    assert parse_policy(text[:start] + snippet + text[end:]).scoring == suggestion
