"""What changes between the policy that recorded an entry and the policy a replay runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.policy import Policy, Scoring
from leadledger.domain.records import Event
from leadledger.domain.scoring import SECONDS_PER_DAY, signal_points

AUTO_ACTORS = {"rule:score": "promotion", "rule:trial": "trial", "rule:dormancy": "dormancy"}


def entry_kind(actor: str, from_stage: str | None) -> str:
    """How a stored entry is replayed: create, account, import, promotion, trial, dormancy or human."""
    if from_stage is None:
        return "create"
    if actor.startswith("rule:account"):
        return "account"
    if actor == "import" or actor.startswith("import:"):
        return "import"
    return AUTO_ACTORS.get(actor, "human")


def map_stage(name: str, recorded: Policy | None, target: Policy) -> str | None:
    """The target policy's stage for a stage the recording policy named, matched by its meaning.

    The same name with the same meaning maps to itself; otherwise the first stage of the target
    that means the same (a Lead-First SAL, still a lead, is a Prospect-First prospect).
    """
    mine = target.stage(name)
    theirs = recorded.stage(name) if recorded is not None else None
    if theirs is None:
        return name if mine is not None else None
    if mine is not None and mine.meaning == theirs.meaning and mine.side == theirs.side:
        return name
    if theirs.side:
        return None
    return next((s.name for s in target.main_stages if s.meaning == theirs.meaning), None)


def same_promotion(a: Policy, b: Policy) -> bool:
    """Whether the score promotion would fire at the same moments under both policies."""
    ra, rb = a.auto_promotion, b.auto_promotion
    if ra is None or rb is None:
        return ra is rb
    sa, sb = a.stage(ra.to_stage), b.stage(rb.to_stage)
    return (
        ra == rb
        and a.scoring == b.scoring
        and sa is not None
        and sb is not None
        and sa.gate == sb.gate
        and a.edge_cases.customer_contacts_route_to_owner == b.edge_cases.customer_contacts_route_to_owner
    )


def same_trial(a: Policy, b: Policy) -> bool:
    """Whether the product-led trial rule is the same under both policies."""
    return a.edge_cases.trial == b.edge_cases.trial and a.scoring.fit_minimum == b.scoring.fit_minimum


def same_judgement(a: Policy, b: Policy, stage_a: str, stage_b: str) -> bool:
    """Whether a move into `stage_a` under `a` is judged exactly as one into `stage_b` under `b`."""
    sa, sb = a.stage(stage_a), b.stage(stage_b)
    return (
        stage_a == stage_b
        and sa is not None
        and sb is not None
        and sa.gate == sb.gate
        and a.backward == b.backward
        and a.framework == b.framework
        and a.buying_signal_events == b.buying_signal_events
        and a.enterprise_min_employees == b.enterprise_min_employees
        and a.edge_cases == b.edge_cases
        and a.scoring.fit_minimum == b.scoring.fit_minimum
        and a.order(stage_a) == b.order(stage_b)
    )


REBASE_HALF_LIVES = 500.0  # 2**500 is far from float overflow; rebasing keeps the weights finite


@dataclass(slots=True)
class ScoreClock:
    """A contact's behaviour score kept up to date event by event.

    Each event type's decayed count is kept as a sum of weights 2**(age / half-life) relative to
    one anchor moment, so counting an event or reading the total takes one power, not one per type.
    """

    scoring: Scoring
    fit: float
    weights: dict[str, float]
    anchor: datetime | None = None
    per_second: float = 0.0  # half-lives per second
    terms: tuple[tuple[str, float, float | None], ...] = ()  # the signals, unpacked once

    @classmethod
    def start(cls, scoring: Scoring, fit: float) -> ScoreClock:
        """A clock with no events yet."""
        terms = tuple((s.event_type, s.points, s.cap) for s in scoring.signals)
        return cls(scoring, fit, {}, None, 1.0 / (scoring.half_life_days * SECONDS_PER_DAY), terms)

    def add(self, event_type: str, at: datetime) -> None:
        """Count one event at `at` (events arrive in time order)."""
        if self.anchor is None:
            self.anchor = at
        exponent = (at - self.anchor).total_seconds() * self.per_second
        if exponent > REBASE_HALF_LIVES:
            shrink = 2.0 ** -exponent
            self.weights = {k: w * shrink for k, w in self.weights.items()}
            self.anchor, exponent = at, 0.0
        self.weights[event_type] = self.weights.get(event_type, 0.0) + 2.0**exponent

    def total(self, at: datetime) -> float:
        """Fit plus decayed, capped behaviour as of `at` (`signal_points`, inlined: it runs per event)."""
        total = self.fit
        if self.anchor is None:
            return total
        decay = 2.0 ** -((at - self.anchor).total_seconds() * self.per_second)
        weights = self.weights
        for event_type, points, cap in self.terms:
            weight = weights.get(event_type)
            if weight is not None:
                raw = points * (weight * decay)
                if cap is not None:
                    raw = min(raw, cap) if points >= 0 else max(raw, -cap)
                total += raw
        return total


def score_ceiling(scoring: Scoring, fit: float, events: Sequence[Event]) -> float:
    """The highest score `events` could ever give: every event undecayed, positive signals only."""
    return ceiling_of_counts(scoring, fit, Counter(e.type for e in events))


def ceiling_of_counts(scoring: Scoring, fit: float, counts: Mapping[str, int]) -> float:
    """`score_ceiling` from how many events of each type there are (no events needed)."""
    return fit + sum(signal_points(s, counts[s.event_type]) for s in scoring.signals
                     if s.points > 0 and s.event_type in counts)
