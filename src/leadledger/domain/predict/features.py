"""What a feature is (its column and kind) and how raw text becomes a value of that kind."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MISSING = "(missing)"  # the category a missing value falls in, for the frequency models
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f"})


class FeatureKind(StrEnum):
    """How a column's values are read."""

    categorical = "categorical"
    numeric = "numeric"
    boolean = "boolean"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One input column and how to read it."""

    name: str
    kind: FeatureKind


def parse_number(text: str) -> float | None:
    """'1,250.5' → 1250.5; None when it is not a finite number."""
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_boolean(text: str) -> bool | None:
    """yes/no, true/false, 1/0, y/n (any case) → bool; None when it is none of those."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def quantile_edges(values: Sequence[float], bins: int) -> tuple[float, ...]:
    """Inner cut points splitting `values` into about `bins` equally full groups (duplicates merged)."""
    ordered = sorted(values)
    if not ordered or bins < 2:
        return ()
    cuts = {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins)] for i in range(1, bins)}
    return tuple(sorted(c for c in cuts if c > ordered[0]))


def bin_label(value: float | None, edges: Sequence[float]) -> str:
    """The interval a number falls in, as text: '< 3', '3 – 7', '≥ 12' (or MISSING)."""
    if value is None:
        return MISSING
    if not edges:
        return "any"
    i = bisect.bisect_right(edges, value)
    if i == 0:
        return f"< {edges[0]:g}"
    if i == len(edges):
        return f"≥ {edges[-1]:g}"
    return f"{edges[i - 1]:g} – <{edges[i]:g}"


def as_category(spec: FeatureSpec, raw: str | None, edges: Sequence[float] = ()) -> str:
    """A raw cell as a category for the frequency models: numbers binned, booleans yes/no."""
    if raw is None:
        return MISSING
    if spec.kind is FeatureKind.numeric:
        return bin_label(parse_number(raw), edges)
    if spec.kind is FeatureKind.boolean:
        flag = parse_boolean(raw)
        return MISSING if flag is None else "yes" if flag else "no"
    return raw
