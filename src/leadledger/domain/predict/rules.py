"""The rule score next to the model: same-volume comparison, points scaling, a pasteable snippet.

Pure functions over plain lists, so each figure can be checked by hand:
- `same_volume`: the leads the current MQL rule flagged, against the model's top N (same N);
- `to_points`: log-odds weights of an additive model as integer policy points;
- `volume_threshold`: the score threshold that flags (about) N leads;
- `score_sums`: a lead's rule score from its fit values and decayed event sums, as the policy scores it;
- `scoring_snippet`: the `scoring:` section of a policy YAML with the suggested weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leadledger.domain.policy import FitRule, Scoring, Signal
from leadledger.domain.scoring import FitValue, score_fit, signal_points

# Points per unit of log-odds: 20 points double the odds (the credit-scoring convention).
POINTS_PER_LOG_ODDS = 20 / math.log(2)
BEHAVIOR_SUFFIXES = (" count", " decayed", " days since last")


@dataclass(frozen=True, slots=True)
class SameVolume:
    """The current rule's MQLs against the model's top N leads (the same N)."""

    leads: int
    flagged: int  # N: leads the rule would have sent to sales
    rule_converted: int  # of those, how many later converted
    model_converted: int  # of the model's top N, how many later converted
    cutoff: float | None  # the model probability that yields N (the N-th highest); None when N = 0

    def sentence(self, rule: str) -> str:
        """The comparison in one sentence, both numbers and the cut-off."""
        if not self.flagged:
            return f"The current rule ({rule}) would have sent no lead of the {self.leads:,} to sales."
        gain = self.model_converted - self.rule_converted
        return (
            f"The current rule ({rule}) would have sent sales {self.flagged:,} of the {self.leads:,} leads, "
            f"{self.rule_converted:,} of which later converted; the model's top {self.flagged:,} "
            f"(probability ≥ {self.cutoff:.1%}) held {self.model_converted:,} later conversions "
            f"({gain:+,})."
        )


def same_volume(
    flags: Sequence[bool], probabilities: Sequence[float], outcomes: Sequence[bool]
) -> SameVolume:
    """How many flagged leads converted, and how many of the model's top N (ties: input order)."""
    n = sum(flags)
    ranked = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])[:n]
    return SameVolume(
        leads=len(outcomes), flagged=n,
        rule_converted=sum(o for f, o in zip(flags, outcomes, strict=True) if f),
        model_converted=sum(outcomes[i] for i in ranked),
        cutoff=probabilities[ranked[-1]] if ranked else None,
    )


def to_points(weights: Mapping[str, float], per_log_odds: float = POINTS_PER_LOG_ODDS) -> dict[str, int]:
    """Log-odds weights as whole points (rounded half away from zero); zero-point weights dropped."""
    out = {}
    for name, w in weights.items():
        x = w * per_log_odds
        points = math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)
        if points:
            out[name] = points
    return out


def volume_threshold(scores: Sequence[float], eligible: Sequence[bool], n: int) -> float | None:
    """The highest threshold at which `score ≥ threshold` (among eligible leads) flags at least n."""
    ranked = sorted((s for s, ok in zip(scores, eligible, strict=True) if ok), reverse=True)
    if n <= 0 or not ranked:
        return None
    return ranked[min(n, len(ranked)) - 1]


def score_sums(values: Mapping[str, FitValue], decayed: Mapping[str, float], scoring: Scoring
               ) -> tuple[float, float]:
    """(fit, fit + behavior) from fit values and per-type decayed event sums, as `score_contact`."""
    fit, _ = score_fit(values, scoring)
    return fit, fit + behavior_points(decayed, scoring)


def behavior_points(decayed: Mapping[str, float], scoring: Scoring) -> float:
    """The behavior part of the rule score from per-type decayed event sums."""
    return sum(signal_points(s, decayed[s.event_type]) for s in scoring.signals
               if decayed.get(s.event_type, 0.0) > 0)


def signal_of(feature: str) -> str:
    """The signal a ledger feature belongs to: 'demo_request count' → 'demo_request'."""
    for suffix in BEHAVIOR_SUFFIXES:
        if feature.endswith(suffix):
            return feature[: -len(suffix)]
    return feature


def by_signal(importance: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Feature importances summed per signal (an event type's count, decayed sum and recency)."""
    total: dict[str, float] = {}
    for name, value in importance:
        total[signal_of(name)] = total.get(signal_of(name), 0.0) + value
    return sorted(total.items(), key=lambda x: -x[1])


def _yaml(value: object) -> str:
    """A scalar or list in YAML flow style (JSON is valid YAML; whole numbers without a point)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def scoring_snippet(scoring: Scoring) -> str:
    """The `scoring:` section of a policy YAML for these weights (the keys of lead-first.yaml)."""
    lines = [
        "scoring:",
        "  # Suggested by `leadledger train`: fit is part of the score; fit_minimum is the lowest fit",
        "  # possible, so the threshold alone decides (it sends sales as many MQLs as the rule it replaces).",
        f"  mql_threshold: {_yaml(scoring.mql_threshold)}",
        f"  fit_minimum: {_yaml(scoring.fit_minimum)}",
        f"  decay_half_life_days: {_yaml(scoring.half_life_days)}",
        "  fit:" + ("" if scoring.fit_rules else " []"),
    ]
    lines += [
        f"    - {{label: {_yaml(r.label)}, field: {r.field}, op: {r.op}, value: {_yaml(r.value)}, "
        f"points: {_yaml(float(r.points))}}}"
        for r in scoring.fit_rules
    ]
    for key, signals in (("behavior", [s for s in scoring.signals if s.points > 0]),
                         ("negative", [s for s in scoring.signals if s.points < 0])):
        lines.append(f"  {key}:" + ("" if signals else " {}"))
        lines += [
            f"    {s.event_type}: {{points: {_yaml(float(s.points))}"
            + (f", cap: {_yaml(float(s.cap))}}}" if s.cap is not None else "}")
            for s in signals
        ]
    return "\n".join(lines) + "\n"


def merge_fit_rules(rules: Sequence[FitRule]) -> list[FitRule]:
    """`field eq v` rules of one field with equal points become one `in` rule (order kept)."""
    merged: list[FitRule] = []
    groups: dict[tuple[str, float], int] = {}
    for r in rules:
        key = (r.field, r.points)
        if r.op != "eq" or key not in groups:
            if r.op == "eq":
                groups[key] = len(merged)
            merged.append(r)
            continue
        first = merged[groups[key]]
        values = (*(first.value if isinstance(first.value, tuple) else (first.value,)), r.value)
        merged[groups[key]] = FitRule(field=r.field, op="in", value=values,  # type: ignore[arg-type]
                                      points=r.points, label=f"{r.field} in {', '.join(map(str, values))}")
    return merged


def capped_signal(event_type: str, points: int, cap_count: float) -> Signal:
    """A signal of `points` per occurrence, capped at `cap_count` (decayed) occurrences."""
    return Signal(event_type=event_type, points=float(points),
                  cap=float(max(abs(points), round(abs(points) * cap_count))))


@dataclass(frozen=True, slots=True)
class RuleRow:
    """What the rule score of one lead is made of at its decision time."""

    values: dict[str, FitValue]  # the fit values rules look at
    decayed: dict[str, float]  # per event type: the decayed count of events before the decision time
    fit: float  # the current policy's fit score
    total: float  # the current policy's score (fit + behavior)
