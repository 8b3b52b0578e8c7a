"""Predictive scoring's pure parts on tables small enough to compute by hand."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from leadledger.domain.predict import metrics as M
from leadledger.domain.predict.explain import Factor, describe_value, explain
from leadledger.domain.predict.features import (
    MISSING,
    FeatureKind,
    FeatureSpec,
    as_category,
    bin_label,
    parse_boolean,
    parse_number,
    quantile_edges,
)
from leadledger.domain.predict.leakage import single_feature_auc, suspected_leaks
from leadledger.domain.predict.naive_bayes import fit_naive_bayes
from leadledger.domain.predict.readiness import training_refusal

# source, size → won?   won = 2, lost = 3
ROWS = [("A", "x"), ("A", "y"), ("B", "x"), ("A", "x"), ("B", "y")]
WON = [True, True, False, False, False]


def test_naive_bayes_matches_the_hand_computation() -> None:
    model = fit_naive_bayes(["source", "size"], ROWS, WON, alpha=1.0)
    # P(A|won) = (2+1)/(2+1·3) = 3/5, P(A|lost) = (1+1)/(3+3) = 1/3
    # P(x|won) = (1+1)/5 = 2/5,       P(x|lost) = (2+1)/6 = 1/2
    # won ∝ 2/5 · 3/5 · 2/5 = 12/125;  lost ∝ 3/5 · 1/3 · 1/2 = 1/10  →  P = 24/49
    assert model.likelihoods(0, "A") == (pytest.approx(3 / 5), pytest.approx(1 / 3))
    assert model.probability(["A", "x"]) == pytest.approx(24 / 49)
    # a value never seen gets the one spare slot: P(C|won) = 1/5, P(C|lost) = 1/6
    won = Fraction(2, 5) * Fraction(1, 5) * Fraction(2, 5)
    lost = Fraction(3, 5) * Fraction(1, 6) * Fraction(1, 2)
    assert model.probability(["C", "x"]) == pytest.approx(float(won / (won + lost)))


def test_naive_bayes_light_smoothing_by_default() -> None:
    model = fit_naive_bayes(["source", "size"], ROWS, WON)
    a = Fraction(1, 10)
    # B: 0 won, 2 lost; y: 1 won, 1 lost; two values per field → α·3 in each denominator
    p_won = Fraction(2, 5) * (0 + a) / (2 + 3 * a) * (1 + a) / (2 + 3 * a)
    p_lost = Fraction(3, 5) * (2 + a) / (3 + 3 * a) * (1 + a) / (3 + 3 * a)
    assert model.probability(["B", "y"]) == pytest.approx(float(p_won / (p_won + p_lost)))
    assert 0 < model.probability(["B", "y"]) < 0.1  # B never converted: smoothing keeps it above 0


def test_naive_bayes_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="at least one won and one lost"):
        fit_naive_bayes(["source"], [("A",), ("B",)], [True, True])


def test_roc_auc_and_average_precision_by_hand() -> None:
    scores, outcomes = [0.1, 0.4, 0.35, 0.8], [False, False, True, True]
    assert M.roc_auc(scores, outcomes) == pytest.approx(0.75)  # 3 of 4 pairs ordered right
    # thresholds 0.8 (P=1, R=.5), 0.4 (P=.5, R=.5), 0.35 (P=2/3, R=1): .5·1 + .5·2/3
    assert M.average_precision(scores, outcomes) == pytest.approx(5 / 6)
    assert M.roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)  # a tie counts half
    assert M.roc_auc([0.2, 0.3], [True, True]) is None


def test_ranking_metrics_agree_with_scikit_learn() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = random.Random(3)
    outcomes = [rng.random() < 0.3 for _ in range(500)]
    scores = [round(rng.random() + 0.4 * y, 2) for y in outcomes]  # rounding makes ties
    assert M.roc_auc(scores, outcomes) == pytest.approx(roc_auc_score(outcomes, scores))
    assert M.average_precision(scores, outcomes) == pytest.approx(average_precision_score(outcomes, scores))


def test_brier_calibration_and_ece_by_hand() -> None:
    probabilities, outcomes = [0.05, 0.15, 0.15, 0.95], [False, True, False, True]
    assert M.brier(probabilities, outcomes) == pytest.approx((0.05**2 + 0.85**2 + 0.15**2 + 0.05**2) / 4)
    bins = M.calibration_bins(probabilities, outcomes)
    assert [b.leads for b in bins] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert (bins[1].predicted, bins[1].observed) == (pytest.approx(0.15), pytest.approx(0.5))
    # gaps .05 (1 lead), .35 (2 leads), .05 (1 lead) → (.05 + .7 + .05) / 4
    assert M.expected_calibration_error(bins) == pytest.approx(0.2)
    assert M.calibration_bins([1.0], [True])[-1].leads == 1  # 1.0 belongs to the last bin


def test_lift_and_capture_by_hand() -> None:
    scores = [10 - i for i in range(10)]
    outcomes = [True, True, False, True, False, False, False, False, False, False]  # base rate 0.3
    top10, top20 = M.lift_at(scores, outcomes, 0.1), M.lift_at(scores, outcomes, 0.2)
    assert (top10.leads, top10.conversions) == (1, 1)
    assert top10.lift == pytest.approx(1 / 0.3)
    assert top10.capture == pytest.approx(1 / 3)
    assert top20.capture == pytest.approx(2 / 3)
    assert M.lift_at(scores, outcomes, 0.4).lift == pytest.approx(0.75 / 0.3)
    table = M.gains(scores, outcomes)
    assert table[-1].capture == pytest.approx(1.0)
    assert table[-1].lift == pytest.approx(1.0)


def test_spread_is_mean_and_sample_sd() -> None:
    s = M.spread([0.8, 0.9, 1.0])
    assert (s.mean, s.sd, s.low, s.high, s.folds) == (pytest.approx(0.9), pytest.approx(0.1), 0.8, 1.0, 3)
    assert str(s) == "0.900 ± 0.100"


def test_leakage_flags_a_planted_column_but_not_an_id_or_noise() -> None:
    rng = random.Random(1)
    outcomes = [rng.random() < 0.4 for _ in range(400)]
    columns = {
        "stage_after_call": ["closed won" if y else rng.choice(["lost", "no answer"]) for y in outcomes],
        "lead_id": [f"id-{i}" for i in range(400)],
        "noise": [rng.choice("abc") for _ in outcomes],
        "weak": ["hot" if (y and rng.random() < 0.5) else rng.choice(["hot", "cold"]) for y in outcomes],
    }
    leaks = suspected_leaks(columns, outcomes, threshold=0.95)
    assert [leak.feature for leak in leaks] == ["stage_after_call"]
    assert leaks[0].auc > 0.99
    assert "stage_after_call alone predicts" in leaks[0].warning()
    assert single_feature_auc(columns["lead_id"], outcomes) == pytest.approx(0.5)
    assert single_feature_auc(["no"] * 400, outcomes) == pytest.approx(0.5)  # a constant column


def test_refusal_names_what_is_short() -> None:
    reason = training_refusal(150, 900, minimum=200)
    assert reason is not None
    assert "150 converted" in reason
    assert "not converted" not in reason
    assert "200" in reason
    assert training_refusal(200, 200, minimum=200) is None
    both = training_refusal(3, 7, minimum=10)
    assert both is not None and "3 converted and 7 not converted" in both


def test_values_parse_and_bin() -> None:
    assert parse_number("1,250.5") == 1250.5
    assert parse_number("n/a") is None
    assert parse_number("inf") is None
    flags = [parse_boolean(t) for t in ("Yes", "no", "1", "FALSE", "maybe")]
    assert flags == [True, False, True, False, None]
    edges = quantile_edges([1, 2, 3, 4, 5, 6, 7, 8], 4)
    assert edges == (3, 5, 7)
    assert [bin_label(v, edges) for v in (1, 3, 6, 9, None)] == ["< 3", "3 – <5", "5 – <7", "≥ 7", MISSING]
    assert quantile_edges([0, 0, 0, 5], 4) == (5,)
    visits = FeatureSpec("visits", FeatureKind.numeric)
    assert as_category(visits, "4", edges) == "3 – <5"
    assert as_category(FeatureSpec("dne", FeatureKind.boolean), "Yes") == "yes"
    assert as_category(FeatureSpec("source", FeatureKind.categorical), None) == MISSING


def test_explanations_in_plain_words() -> None:
    source = FeatureSpec("Lead Source", FeatureKind.categorical)
    assert describe_value(source, "Reference") == "Lead Source = Reference"
    assert describe_value(source, None) == "Lead Source not given"
    assert describe_value(FeatureSpec("Time", FeatureKind.numeric), "1250") == "Time = 1,250"
    assert describe_value(FeatureSpec("Do Not Email", FeatureKind.boolean), "Yes") == "Do Not Email = yes"
    assert Factor("Lead Source", "Lead Source = Reference", 0.18).words() == "Lead Source = Reference: +18%"
    effects = (("a", 0.02), ("b", -0.3), ("c", 0.001), ("d", 0.25), ("e", -0.01))
    factors = [Factor(n, n, e) for n, e in effects]
    e = explain(0.4, factors, top=1)
    assert [f.feature for f in e.up] == ["d"]
    assert [f.feature for f in e.down] == ["b"]
    assert [f.feature for f in explain(0.4, factors).up] == ["d", "a"]  # c is negligible
