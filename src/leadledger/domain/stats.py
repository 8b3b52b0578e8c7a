"""Quantiles and means over histograms: the reports' inputs arrive pre-counted from SQL."""

from __future__ import annotations

import math
from collections.abc import Iterable


def quantile(histogram: Iterable[tuple[float, int]], q: float) -> float | None:
    """Nearest-rank quantile of (value, count) pairs: the smallest value covering q of the counts."""
    pairs = sorted((v, n) for v, n in histogram if n > 0)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]


def mean(histogram: Iterable[tuple[float, int]]) -> float | None:
    """Count-weighted mean of (value, count) pairs."""
    pairs = [(v, n) for v, n in histogram if n > 0]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole else None
