"""The naive-Bayes frequency model Odoo CRM uses: per field value, how many leads were won and lost.

P(won | values) ∝ P(won) · Π P(value | won), each factor a count ratio with light (Lidstone)
smoothing: P(v | won) = (won_v + α) / (won + α·(K + 1)), K the field's distinct training values
(one more slot for a value never seen). Small enough to check with a pencil.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_ALPHA = 0.1


@dataclass(frozen=True, slots=True)
class ValueCounts:
    """Won and lost leads that had one value of one field."""

    won: int
    lost: int


@dataclass(frozen=True, slots=True)
class NaiveBayes:
    """Won/lost totals and per-field value counts; `alpha` is the smoothing added to every count."""

    fields: tuple[str, ...]
    won: int
    lost: int
    counts: tuple[Mapping[str, ValueCounts], ...]  # one per field, in `fields` order
    alpha: float = DEFAULT_ALPHA

    def likelihoods(self, field: int, value: str) -> tuple[float, float]:
        """(P(value | won), P(value | lost)) for the field at index `field`."""
        table = self.counts[field]
        seen = table.get(value, ValueCounts(0, 0))
        slots = self.alpha * (len(table) + 1)
        return ((seen.won + self.alpha) / (self.won + slots), (seen.lost + self.alpha) / (self.lost + slots))

    def probability(self, row: Sequence[str]) -> float:
        """P(won | the row's values), one value per field."""
        log_odds = math.log(self.won / self.lost)
        for i, value in enumerate(row):
            p_won, p_lost = self.likelihoods(i, value)
            log_odds += math.log(p_won) - math.log(p_lost)
        return 1.0 / (1.0 + math.exp(-log_odds)) if log_odds > -700 else 0.0


def fit_naive_bayes(
    fields: Sequence[str], rows: Sequence[Sequence[str]], outcomes: Sequence[bool], *,
    alpha: float = DEFAULT_ALPHA,
) -> NaiveBayes:
    """Count each field value's won and lost leads; needs at least one of each outcome."""
    won = sum(outcomes)
    lost = len(outcomes) - won
    if not won or not lost:
        raise ValueError("naive Bayes needs at least one won and one lost lead")
    tallies: list[dict[str, list[int]]] = [{} for _ in fields]
    for row, outcome in zip(rows, outcomes, strict=True):
        for tally, value in zip(tallies, row, strict=True):
            tally.setdefault(value, [0, 0])[0 if outcome else 1] += 1
    counts = tuple({v: ValueCounts(w, lo) for v, (w, lo) in t.items()} for t in tallies)
    return NaiveBayes(fields=tuple(fields), won=won, lost=lost, counts=counts, alpha=alpha)
