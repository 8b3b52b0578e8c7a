"""A lead table as a numeric matrix: categories as codes, numbers and flags as floats, NaN missing.

The category codes are learned on the training rows only: values seen fewer than `min_count`
times share one "other" code, so a value first met when scoring is handled too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leadledger.domain.predict.features import FeatureKind, FeatureSpec, parse_boolean, parse_number

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from leadledger.services.training.table import LeadTable

MIN_CATEGORY_COUNT = 5
OTHER = "(other)"


@dataclass(frozen=True, slots=True)
class Encoder:
    """How each feature becomes one matrix column."""

    features: tuple[FeatureSpec, ...]
    categories: dict[str, tuple[str, ...]]  # categorical feature → its codes' values; the last is OTHER

    @property
    def categorical(self) -> list[int]:
        """Matrix columns that hold category codes."""
        return [i for i, s in enumerate(self.features) if s.kind is FeatureKind.categorical]

    def matrix(self, table: LeadTable) -> NDArray[np.float64]:
        """The table's features as floats (rows × features), NaN where missing."""
        import numpy as np

        out = np.full((len(table), len(self.features)), np.nan)
        for j, spec in enumerate(self.features):
            cells = table.columns[spec.name]
            if spec.kind is FeatureKind.categorical:
                codes = {v: float(c) for c, v in enumerate(self.categories[spec.name])}
                other = codes[OTHER]
                out[:, j] = [np.nan if v is None else codes.get(v, other) for v in cells]
            elif spec.kind is FeatureKind.numeric:
                # Parsed once per distinct text: snapshot rows repeat the same counts thousands of times.
                parsed = {v: np.nan if v is None else parse_number(v) for v in set(cells)}
                out[:, j] = [parsed[v] for v in cells]
            else:
                flags = [None if v is None else parse_boolean(v) for v in cells]
                out[:, j] = [np.nan if f is None else float(f) for f in flags]
        return out


def fit_encoder(table: LeadTable, min_count: int = MIN_CATEGORY_COUNT) -> Encoder:
    """Category codes from the training rows: frequent values first, rare ones as OTHER."""
    categories = {}
    for spec in table.features:
        if spec.kind is FeatureKind.categorical:
            counts = Counter(v for v in table.columns[spec.name] if v is not None)
            kept = sorted((v for v, n in counts.items() if n >= min_count), key=lambda v: (-counts[v], v))
            categories[spec.name] = (*kept, OTHER)
    return Encoder(features=table.features, categories=categories)
