"""Training from a CSV: refusal, leakage warning, the models' figures, explanations, X Education."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from leadledger.services.training.evaluation import Split, stratified_folds, time_folds
from leadledger.services.training.mapping import load_training_mapping
from leadledger.services.training.run import TrainingOptions, TrainingRefused, train_csv
from leadledger.services.training.table import read_lead_table
from tests.training.synthetic import write_leads

# The first 2,000 leads of the public X Education lead-scoring data set (../shared/data/x-education-leads),
# kept with the tests so they do not depend on files outside the repository.
X_EDUCATION_SAMPLE = Path(__file__).parents[1] / "fixtures" / "x-education-leads-2000.csv"
QUICK = TrainingOptions(folds=3, repeats=1, minimum_per_outcome=50)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_leads(tmp_path_factory.mktemp("leads"), n=600)


def test_refuses_too_little_data_and_says_why(synthetic: tuple[Path, Path]) -> None:
    data, mapping = synthetic
    with pytest.raises(TrainingRefused, match=r"too little history.*fewer than the 1,000 of each outcome"):
        train_csv(data, str(mapping), TrainingOptions(minimum_per_outcome=1000))


def test_trains_evaluates_and_explains(synthetic: tuple[Path, Path]) -> None:
    data, mapping = synthetic
    report, _ = train_csv(data, str(mapping), QUICK)
    assert report.leads == 600 and report.leaks == ()
    results = {r.key: r for r in report.results}
    assert set(results) == {"product", "logistic", "naive_bayes"}
    for r in results.values():
        summary = r.summary()
        assert summary["roc_auc"].folds == 3
        assert 0.6 < summary["roc_auc"].mean <= 1.0  # the planted signal is found by every model
        assert summary["lift_10"].mean > 1.0
        assert len(r.pooled) == 600  # each lead predicted once in the first repeat
    assert [round(b.lower, 1) for b in report.calibration["product"]][:2] == [0.0, 0.1]
    assert report.gains["product"][-1].capture == pytest.approx(1.0)
    top_features = [name for name, _ in report.importance[:3]]
    assert "Region" not in top_features  # noise
    assert {"Source", "Visits"} <= set(top_features)
    best = report.examples[0].explanation
    assert best.probability > report.examples[-1].explanation.probability
    assert all(f.words().endswith("%") for f in best.up + best.down)
    as_dict = report.to_dict()
    assert as_dict["models"][0]["metrics"]["roc_auc"]["folds"] == 3
    assert as_dict["product"]["examples"][0]["line"] == report.examples[0].line


def test_contributions_add_up_to_the_model_score(synthetic: tuple[Path, Path]) -> None:
    data, mapping = synthetic
    _, model = train_csv(data, str(mapping), TrainingOptions(folds=2, repeats=1, minimum_per_outcome=50))
    table = read_lead_table(data, load_training_mapping(str(mapping)))
    probabilities, effects = model.effects(table)
    assert probabilities == pytest.approx(model.predict(table))
    assert effects.shape == (len(table), len(table.features))


def test_warns_about_a_planted_leaky_column(synthetic: tuple[Path, Path]) -> None:
    data, mapping = synthetic
    report, _ = train_csv(data, str(mapping), QUICK, include_leaky=True)
    assert [x.feature for x in report.leaks] == ["Sales Note"]
    assert report.leaky_included
    assert report.to_dict()["warnings"][0]["message"].startswith("Sales Note alone predicts")


def test_time_folds_train_on_the_past_only(synthetic: tuple[Path, Path]) -> None:
    data, mapping = synthetic
    table = read_lead_table(data, load_training_mapping(str(mapping)))
    assert table.order is not None
    folds = time_folds(table.order, 3)
    for fold in folds:
        assert max(table.order[i] for i in fold.train) < min(table.order[i] for i in fold.test)
    assert sorted(itertools.chain(*(f.test for f in folds))) == sorted(
        i for i in range(600) if table.order[i] >= 150)  # the first block of 150 is only trained on
    by_time = TrainingOptions(split=Split.time, folds=3, minimum_per_outcome=50)
    report, _ = train_csv(data, str(mapping), by_time)
    assert report.split is Split.time and report.repeats == 1
    assert report.results[0].summary()["roc_auc"].folds == 3


def test_stratified_folds_keep_the_rate_and_repeat_with_new_shuffles() -> None:
    outcomes = [i % 4 == 0 for i in range(400)]
    folds = stratified_folds(outcomes, k=4, repeats=2, seed=0)
    assert len(folds) == 8
    assert all(sum(outcomes[i] for i in f.test) == 25 for f in folds)
    assert folds[0].test != folds[4].test


def test_x_education_mapping_trains_on_a_sample() -> None:
    sample = X_EDUCATION_SAMPLE
    free, _ = train_csv(sample, "x-education", TrainingOptions(folds=2, repeats=1))
    assert free.leads == 2000
    assert "Tags" in free.leaky and "Tags" not in free.features
    auc = free.results[0].summary()["roc_auc"].mean
    assert 0.75 < auc < 0.95  # website time and lead origin carry real, imperfect signal
    leaky, _ = train_csv(sample, "x-education", TrainingOptions(folds=2, repeats=1), include_leaky=True)
    assert leaky.results[0].summary()["roc_auc"].mean > auc
