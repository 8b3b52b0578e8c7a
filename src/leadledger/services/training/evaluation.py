"""Cross-validation: the same folds for every model, figures per fold, mean and spread over folds.

Two fold schemes, never a single random split:
- stratified: k folds with the conversion rate kept in each, repeated with fresh shuffles;
- time: the leads in time order cut into k + 1 blocks; fold i trains on blocks 1…i and tests on
  block i + 1 (train on earlier leads, test on later ones).

When a lead has several rows (snapshots from the ledger), both keep a lead's rows on one side:
stratified folds are group-aware (each lead wholly in one test fold), and a time fold leaves out of
its training rows any lead that also has rows in its test block (its earlier snapshots would show
the model the very lead it is tested on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from leadledger.domain.predict.metrics import (
    CalibrationBin,
    Lift,
    Spread,
    average_precision,
    brier,
    calibration_bins,
    expected_calibration_error,
    gains,
    lift_at,
    roc_auc,
    spread,
)
from leadledger.services.training.models import ModelKind

if TYPE_CHECKING:
    from leadledger.services.training.table import LeadTable

METRICS = ("roc_auc", "pr_auc", "brier", "ece", "lift_10", "capture_10", "lift_20", "capture_20")


class Split(StrEnum):
    """How the leads are cut into training and test folds."""

    stratified = "stratified"
    time = "time"


@dataclass(frozen=True, slots=True)
class Fold:
    """One train/test cut (row indexes into the table)."""

    repeat: int
    number: int
    train: tuple[int, ...]
    test: tuple[int, ...]


def stratified_folds(
    outcomes: Sequence[bool], k: int, repeats: int, seed: int, groups: Sequence[int] | None = None
) -> list[Fold]:
    """k stratified folds, `repeats` times with different shuffles; with `groups`, a group never splits."""
    from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedGroupKFold

    if groups is None:
        cuts = RepeatedStratifiedKFold(n_splits=k, n_repeats=repeats, random_state=seed)
        return [
            Fold(repeat=i // k, number=i % k, train=tuple(map(int, tr)), test=tuple(map(int, te)))
            for i, (tr, te) in enumerate(cuts.split([[0]] * len(outcomes), list(outcomes)))
        ]
    folds = []
    for repeat in range(repeats):
        grouped = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed + repeat)
        folds += [Fold(repeat=repeat, number=i, train=tuple(map(int, tr)), test=tuple(map(int, te)))
                  for i, (tr, te) in enumerate(grouped.split([[0]] * len(outcomes), list(outcomes),
                                                             list(groups)))]
    return folds


def time_folds(order: Sequence[int], k: int, groups: Sequence[int] | None = None) -> list[Fold]:
    """Expanding-window folds over the time order: train on the past, test on the next block.

    With `groups`, a group with rows in the test block has none of its rows in the training rows.
    """
    by_time = sorted(range(len(order)), key=lambda i: order[i])
    edges = [round(len(by_time) * b / (k + 1)) for b in range(k + 2)]
    folds = []
    for i in range(k):
        train, test = by_time[: edges[i + 1]], by_time[edges[i + 1]: edges[i + 2]]
        if groups is not None:
            tested = {groups[j] for j in test}
            train = [j for j in train if groups[j] not in tested]
        folds.append(Fold(repeat=0, number=i, train=tuple(train), test=tuple(test)))
    return folds


@dataclass(frozen=True, slots=True)
class FoldScores:
    """One model's figures on one test fold."""

    roc_auc: float
    pr_auc: float
    brier: float
    ece: float
    lift_10: float
    capture_10: float
    lift_20: float
    capture_20: float


def score_fold(probabilities: Sequence[float], outcomes: Sequence[bool]) -> FoldScores:
    """Every figure for one fold's predictions."""
    top10, top20 = lift_at(probabilities, outcomes, 0.1), lift_at(probabilities, outcomes, 0.2)
    return FoldScores(
        roc_auc=roc_auc(probabilities, outcomes) or 0.5,
        pr_auc=average_precision(probabilities, outcomes) or 0.0,
        brier=brier(probabilities, outcomes),
        ece=expected_calibration_error(calibration_bins(probabilities, outcomes)),
        lift_10=top10.lift, capture_10=top10.capture, lift_20=top20.lift, capture_20=top20.capture,
    )


@dataclass(slots=True)
class ModelResult:
    """A model's cross-validated figures, and its pooled out-of-fold predictions of the first repeat."""

    key: str
    label: str
    folds: list[FoldScores] = field(default_factory=list)
    pooled: dict[int, float] = field(default_factory=dict)  # row → out-of-fold probability
    seconds: float = 0.0

    def summary(self) -> dict[str, Spread]:
        """Mean and spread of each figure over the folds."""
        return {m: spread([getattr(f, m) for f in self.folds]) for m in METRICS}

    def calibration(self, outcomes: Sequence[bool]) -> list[CalibrationBin]:
        """Calibration bins of the pooled predictions."""
        rows = sorted(self.pooled)
        return calibration_bins([self.pooled[r] for r in rows], [outcomes[r] for r in rows])

    def gains(self, outcomes: Sequence[bool]) -> list[Lift]:
        """Lift and capture by cumulative tenth of the pooled predictions."""
        rows = sorted(self.pooled)
        return gains([self.pooled[r] for r in rows], [outcomes[r] for r in rows])


def cross_validate(
    table: LeadTable, models: Sequence[ModelKind], folds: Sequence[Fold], *, seed: int, threads: int,
    progress: Callable[[str, int, int], None] = lambda _s, _d, _t: None,
) -> list[ModelResult]:
    """Fit every model on every fold's training rows and score it on the fold's test rows."""
    import time

    results = [ModelResult(m.key, m.label) for m in models]
    for done, fold in enumerate(folds):
        train, test = table.subset(fold.train), table.subset(fold.test)
        for model, result in zip(models, results, strict=True):
            started = time.perf_counter()
            fitted = model.fit(train, seed=seed + fold.repeat, threads=threads)
            probabilities = [float(p) for p in fitted.predict(test)]
            result.seconds += time.perf_counter() - started
            result.folds.append(score_fold(probabilities, test.outcomes))
            if fold.repeat == 0:
                result.pooled.update(zip(fold.test, probabilities, strict=True))
        progress("cross-validating", done + 1, len(folds))
    return results
