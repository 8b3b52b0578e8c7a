"""What changes between the policy that recorded an entry and the policy a replay runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.policy import Policy, Scoring
from leadledger.domain.scoring import decay_factor, signal_points

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


@dataclass(slots=True)
class ScoreClock:
    """A contact's behaviour score kept up to date event by event (decayed counts per type)."""

    scoring: Scoring
    fit: float
    counts: dict[str, tuple[float, datetime]]

    @classmethod
    def start(cls, scoring: Scoring, fit: float) -> ScoreClock:
        """A clock with no events yet."""
        return cls(scoring, fit, {})

    def add(self, event_type: str, at: datetime) -> None:
        """Count one event at `at` (events arrive in time order)."""
        count, since = self.counts.get(event_type, (0.0, at))
        self.counts[event_type] = (count * self._decay(at, since) + 1.0, at)

    def _decay(self, at: datetime, since: datetime) -> float:
        return decay_factor((at - since).total_seconds(), self.scoring.half_life_days)

    def total(self, at: datetime) -> float:
        """Fit plus decayed, capped behaviour as of `at`."""
        total = self.fit
        for s in self.scoring.signals:
            seen = self.counts.get(s.event_type)
            if seen is not None:
                total += signal_points(s, seen[0] * self._decay(at, seen[1]))
        return total
