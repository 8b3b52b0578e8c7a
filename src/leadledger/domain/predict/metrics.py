"""How well predicted probabilities rank and match outcomes: AUCs, Brier, calibration, lift.

Plain Python over parallel lists (score, outcome), so each figure can be recomputed by hand.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def _ranks(scores: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def roc_auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Chance that a random positive scores above a random negative (ties count half)."""
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    if not positives or not negatives:
        return None
    rank_sum = sum(r for r, y in zip(_ranks(scores), outcomes, strict=True) if y)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """PR AUC as average precision: Σ (recall step) × precision, thresholds at each distinct score."""
    positives = sum(outcomes)
    if not positives:
        return None
    pairs = sorted(zip(scores, outcomes, strict=True), key=lambda p: -p[0])
    total, hits, seen, last_recall = 0.0, 0, 0, 0.0
    for i, (score, outcome) in enumerate(pairs):
        hits += outcome
        seen += 1
        if i + 1 < len(pairs) and pairs[i + 1][0] == score:
            continue  # a tie is one threshold
        recall = hits / positives
        total += (recall - last_recall) * hits / seen
        last_recall = recall
    return total


def brier(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean squared distance between probability and outcome (0 is perfect, 0.25 a coin)."""
    return sum((p - y) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / len(outcomes)


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """Leads whose predicted probability fell in [lower, upper): what was predicted vs what happened."""

    lower: float
    upper: float
    leads: int
    predicted: float | None  # mean predicted probability
    observed: float | None  # share that converted


def calibration_bins(
    probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 10
) -> list[CalibrationBin]:
    """Equal-width probability bins (the last one includes 1.0)."""
    members: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, y in zip(probabilities, outcomes, strict=True):
        members[min(bins - 1, max(0, math.floor(p * bins)))].append((p, y))
    return [
        CalibrationBin(
            lower=i / bins, upper=(i + 1) / bins, leads=len(m),
            predicted=sum(p for p, _ in m) / len(m) if m else None,
            observed=sum(y for _, y in m) / len(m) if m else None,
        )
        for i, m in enumerate(members)
    ]


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float:
    """Lead-weighted mean gap between predicted and observed conversion over the bins."""
    total = sum(b.leads for b in bins)
    return sum(
        b.leads / total * abs(b.predicted - b.observed)
        for b in bins if b.leads and b.predicted is not None and b.observed is not None
    )


@dataclass(frozen=True, slots=True)
class Lift:
    """The top `fraction` of leads by score: how much richer in conversions than average."""

    fraction: float
    leads: int
    conversions: int
    lift: float  # conversion rate in the top / overall rate
    capture: float  # share of all conversions found in the top


def lift_at(scores: Sequence[float], outcomes: Sequence[bool], fraction: float) -> Lift:
    """Lift and capture of the top ⌈fraction·n⌉ leads (ties broken by input order)."""
    n = len(outcomes)
    positives = sum(outcomes)
    top = max(1, math.ceil(fraction * n - 1e-9))
    order = sorted(range(n), key=lambda i: -scores[i])[:top]
    conversions = sum(outcomes[i] for i in order)
    base = positives / n if n else 0.0
    return Lift(
        fraction=fraction, leads=top, conversions=conversions,
        lift=(conversions / top) / base if base else 0.0,
        capture=conversions / positives if positives else 0.0,
    )


def gains(scores: Sequence[float], outcomes: Sequence[bool], groups: int = 10) -> list[Lift]:
    """Lift and capture at each cumulative tenth (or 1/groups) of leads, best first."""
    return [lift_at(scores, outcomes, (i + 1) / groups) for i in range(groups)]


@dataclass(frozen=True, slots=True)
class Spread:
    """A figure over repeated folds: mean, sample standard deviation, range and count."""

    mean: float
    sd: float
    low: float
    high: float
    folds: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} ± {self.sd:.3f}"


def spread(values: Sequence[float]) -> Spread:
    """Mean ± sample standard deviation of per-fold figures."""
    if not values:
        raise ValueError("no values")
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return Spread(mean=statistics.fmean(values), sd=sd, low=min(values), high=max(values), folds=len(values))
