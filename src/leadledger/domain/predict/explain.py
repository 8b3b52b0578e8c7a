"""Per-prediction explanations in plain words: which values pushed a lead's probability up or down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadledger.domain.predict.features import FeatureKind, FeatureSpec, parse_boolean, parse_number

NEGLIGIBLE = 0.005  # effects under half a percentage point are not worth a line


@dataclass(frozen=True, slots=True)
class Factor:
    """One feature's push on one lead's probability, in probability points (−1 … 1)."""

    feature: str
    value: str  # the value as shown, e.g. "Lead Source = Reference"
    effect: float

    def words(self) -> str:
        """'Lead Source = Reference: +18%' (percentage points of conversion probability)."""
        return f"{self.value}: {self.effect * 100:+.0f}%"


def describe_value(spec: FeatureSpec, raw: str | None) -> str:
    """A feature's value as a reader would say it: 'Country = India', 'Country not given'."""
    if raw is None:
        return f"{spec.name} not given"
    if spec.kind is FeatureKind.numeric:
        number = parse_number(raw)
        shown = raw if number is None else f"{number:,.0f}" if number.is_integer() else f"{number:,.3g}"
        return f"{spec.name} = {shown}"
    if spec.kind is FeatureKind.boolean:
        flag = parse_boolean(raw)
        return f"{spec.name} = {raw if flag is None else 'yes' if flag else 'no'}"
    return f"{spec.name} = {raw}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """A lead's probability and the strongest factors each way, strongest first."""

    probability: float
    up: tuple[Factor, ...]
    down: tuple[Factor, ...]


def explain(probability: float, factors: Sequence[Factor], top: int = 3) -> Explanation:
    """Keep the `top` strongest non-negligible factors pushing up and pushing down."""
    ranked = sorted(factors, key=lambda f: -abs(f.effect))
    return Explanation(
        probability=probability,
        up=tuple(f for f in ranked if f.effect >= NEGLIGIBLE)[:top],
        down=tuple(f for f in ranked if f.effect <= -NEGLIGIBLE)[:top],
    )
