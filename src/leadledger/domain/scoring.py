"""Rule scoring, the reference evaluator: fit + decayed, capped behavior, with a breakdown.

The set-based evaluator in `store.batch_scoring` is compiled from the same policy and must
agree with this one (a property test checks it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from leadledger.domain.policy import NUMERIC_FIT_FIELDS, FitRule, Scoring, Signal
from leadledger.domain.records import Account, Contact, Event

FitValue = str | float | tuple[str, ...] | None
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreItem:
    """One line of a score's breakdown."""

    kind: str  # "fit" or "behavior"
    signal: str
    points: float
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """A score with the lines that make it up."""

    fit: float
    behavior: float
    items: tuple[ScoreItem, ...]

    @property
    def total(self) -> float:
        """Fit plus behavior."""
        return self.fit + self.behavior


def email_domain(email: str) -> str:
    """The part after the @, lower-cased."""
    return email.rsplit("@", 1)[-1].lower() if "@" in email else ""


def fit_values(contact: Contact, account: Account | None) -> dict[str, FitValue]:
    """The values fit rules look at, from the contact and its account."""
    values: dict[str, FitValue] = {
        "seniority": contact.seniority,
        "role": contact.role,
        "source": contact.source,
        "email_domain": email_domain(contact.email),
        "industry": None,
        "employees": None,
        "annual_revenue": None,
        "country": None,
        "tech_stack": None,
    }
    if account is not None:
        values.update(
            industry=account.industry,
            employees=float(account.employees) if account.employees is not None else None,
            annual_revenue=account.annual_revenue,
            country=account.country,
            tech_stack=tuple(t.lower() for t in account.tech_stack) or None,
        )
    return values


def _lower(v: object) -> str:
    return str(v).lower()


@cache
def _lowered(values: tuple[object, ...]) -> frozenset[str]:
    """A rule's value list, lower-cased once (rules are matched millions of times)."""
    return frozenset(_lower(t) for t in values)


def fit_rule_matches(rule: FitRule, value: FitValue) -> bool:
    """Whether one fit rule matches a value; a missing value never matches."""
    if value is None or value == "":
        return False
    target = rule.value
    if rule.field in NUMERIC_FIT_FIELDS:
        num = float(value) if not isinstance(value, tuple) else 0.0
        if rule.op == "gte":
            return num >= float(target)  # type: ignore[arg-type]
        if rule.op == "lte":
            return num <= float(target)  # type: ignore[arg-type]
        if rule.op == "between":
            lo, hi = target if isinstance(target, tuple) else (target, target)
            return float(lo) <= num < float(hi)
        if rule.op == "eq":
            return num == float(target)  # type: ignore[arg-type]
        if rule.op == "ne":
            return num != float(target)  # type: ignore[arg-type]
        return False
    if isinstance(value, tuple):  # tech_stack: a set of tools
        items = set(value)
        if rule.op in ("contains", "eq"):
            return _lower(target) in items
        if rule.op == "in":
            return bool(items & _lowered(target))
        if rule.op == "not_in":
            return not items & _lowered(target)
        return False
    text = _lower(value)
    if rule.op == "eq":
        return text == _lower(target)
    if rule.op == "ne":
        return text != _lower(target)
    if rule.op == "in":
        return text in _lowered(target)
    if rule.op == "not_in":
        return text not in _lowered(target)
    if rule.op == "contains":
        return _lower(target) in text
    if rule.op == "ends_with":
        return text.endswith(_lower(target))
    return False


def decay_factor(age_seconds: float, half_life_days: float) -> float:
    """Weight of an event `age_seconds` old: halves every `half_life_days`."""
    return float(0.5 ** (age_seconds / (half_life_days * SECONDS_PER_DAY)))


def signal_points(signal: Signal, decayed_count: float) -> float:
    """Points for a signal given its decayed occurrence count, with the cap applied."""
    raw = signal.points * decayed_count
    if signal.cap is None:
        return raw
    return min(raw, signal.cap) if signal.points >= 0 else max(raw, -signal.cap)


def _show(value: FitValue) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


def score_fit(values: Mapping[str, FitValue], scoring: Scoring) -> tuple[float, list[ScoreItem]]:
    """Sum the points of every matching fit rule."""
    items = [
        ScoreItem(
            kind="fit", signal=r.label, points=r.points, detail=f"{r.field} = {_show(values.get(r.field))}"
        )
        for r in scoring.fit_rules
        if fit_rule_matches(r, values.get(r.field))
    ]
    return sum(i.points for i in items), items


def score_contact(
    contact: Contact,
    account: Account | None,
    events: Iterable[Event],
    scoring: Scoring,
    now: datetime,
) -> Score:
    """Score one contact as of `now` and explain every point."""
    fit, items = score_fit(fit_values(contact, account), scoring)
    decayed: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for e in events:
        decayed[e.type] += decay_factor((now - e.occurred_at).total_seconds(), scoring.half_life_days)
        counts[e.type] += 1
    behavior = 0.0
    for signal in scoring.signals:
        if counts.get(signal.event_type, 0) == 0:
            continue
        pts = signal_points(signal, decayed[signal.event_type])
        behavior += pts
        capped = signal.cap is not None and abs(signal.points * decayed[signal.event_type]) > signal.cap
        detail = (
            f"{counts[signal.event_type]}× {signal.event_type.replace('_', ' ')} "
            f"({signal.points:+g} each, decayed{', capped' if capped else ''})"
        )
        items.append(ScoreItem(kind="behavior", signal=signal.event_type, points=pts, detail=detail))
    return Score(fit=fit, behavior=behavior, items=tuple(items))
