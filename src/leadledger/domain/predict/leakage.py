"""Suspected leakage: a single column that predicts the outcome almost perfectly on its own.

Each column is scored out of sample: the rows are split into two interleaved halves and every
row gets the smoothed conversion rate of its value in the *other* half. An ID-like column then
scores about 0.5 (its values never repeat), while a column recorded after the outcome (a sales
tag such as "closed, won") scores near 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leadledger.domain.predict.metrics import roc_auc

DEFAULT_THRESHOLD = 0.95
PRIOR_WEIGHT = 1.0  # pseudo-leads at the overall rate added to every value's count


@dataclass(frozen=True, slots=True)
class Leak:
    """A column whose values alone separate converted from not converted leads."""

    feature: str
    auc: float

    def warning(self) -> str:
        """The warning shown to the user."""
        return (
            f"{self.feature} alone predicts the outcome almost perfectly (ROC AUC {self.auc:.3f}): "
            "was it recorded after the outcome, or by sales after contact? If so, list it under `leaky`."
        )


def _rates(values: Sequence[str], outcomes: Sequence[bool], prior: float) -> dict[str, float]:
    tally: dict[str, list[int]] = {}
    for v, y in zip(values, outcomes, strict=True):
        t = tally.setdefault(v, [0, 0])
        t[0] += y
        t[1] += 1
    return {v: (won + prior * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT) for v, (won, n) in tally.items()}


def single_feature_auc(values: Sequence[str], outcomes: Sequence[bool]) -> float | None:
    """Out-of-sample ROC AUC of one categorical column used alone (direction-free: ≥ 0.5)."""
    if not outcomes:
        return None
    halves = [list(range(0, len(values), 2)), list(range(1, len(values), 2))]
    scores = [0.0] * len(values)
    for mine, other in (halves, halves[::-1]):
        won = [outcomes[i] for i in other]
        prior = sum(won) / len(won) if won else 0.0
        rates = _rates([values[i] for i in other], won, prior)
        for i in mine:
            # the value's rate over its half's base rate, so a constant column scores exactly 0.5
            scores[i] = rates.get(values[i], prior) - prior
    auc = roc_auc(scores, outcomes)
    return None if auc is None else max(auc, 1 - auc)


def suspected_leaks(
    columns: Mapping[str, Sequence[str]], outcomes: Sequence[bool], threshold: float = DEFAULT_THRESHOLD
) -> list[Leak]:
    """Columns whose single-feature AUC exceeds `threshold`, strongest first."""
    found = []
    for name, values in columns.items():
        auc = single_feature_auc(values, outcomes)
        if auc is not None and auc > threshold:
            found.append(Leak(name, auc))
    return sorted(found, key=lambda leak: -leak.auc)
