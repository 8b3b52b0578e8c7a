"""One training row per lead from the ledger's records, as they stood at the decision time.

Fit features come from the contact and its account; behavior features (counts, days since the
last one, decayed sums per event type, two-way conversations) only from events that happened
strictly before the decision time, so nothing learned after it (a sales call, the outcome) can leak
into the row. Values are text, like a CSV cell, so the same training code reads both.

Fit fields are the record's stored values: a field edited after the decision time is not rewound
(the ledger keeps stage history, not field history).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from leadledger.domain.predict.features import FeatureKind, FeatureSpec
from leadledger.domain.records import Account, Contact, Event
from leadledger.domain.scoring import SECONDS_PER_DAY, decay_factor

FIT = (
    FeatureSpec("industry", FeatureKind.categorical),
    FeatureSpec("employees", FeatureKind.numeric),
    FeatureSpec("annual_revenue", FeatureKind.numeric),
    FeatureSpec("country", FeatureKind.categorical),
    FeatureSpec("seniority", FeatureKind.categorical),
    FeatureSpec("role", FeatureKind.categorical),
    FeatureSpec("source", FeatureKind.categorical),
    FeatureSpec("opted_out", FeatureKind.boolean),
)
RECENT_DAYS = 14


def behavior_features(event_types: Sequence[str]) -> tuple[FeatureSpec, ...]:
    """Per event type: count, decayed sum, days since the last one; then overall activity."""
    per_type = [
        FeatureSpec(f"{t} {what}", FeatureKind.numeric)
        for t in event_types for what in ("count", "decayed", "days since last")
    ]
    overall = [FeatureSpec(name, FeatureKind.numeric)
               for name in ("two-way conversations", f"events in the last {RECENT_DAYS} days",
                            "days since last event", "days since created")]
    return (*per_type, *overall)


def lead_features(event_types: Sequence[str]) -> tuple[FeatureSpec, ...]:
    """Every feature a ledger row has, in order."""
    return FIT + behavior_features(event_types)


def _number(x: float | None) -> str | None:
    return None if x is None else f"{x:.10g}"


def lead_row(
    contact: Contact, account: Account | None, events: Iterable[Event], decision_time: datetime, *,
    event_types: Sequence[str], half_life_days: float,
) -> dict[str, str | None]:
    """The lead's features as of `decision_time` (events at or after it are ignored)."""
    row: dict[str, str | None] = {
        "industry": account.industry if account else None,
        "employees": _number(account.employees) if account and account.employees is not None else None,
        "annual_revenue": _number(account.annual_revenue) if account else None,
        "country": account.country if account else None,
        "seniority": contact.seniority,
        "role": contact.role,
        "source": contact.source,
        "opted_out": "yes" if contact.opted_out else "no",
    }
    before = [e for e in events if e.occurred_at < decision_time]
    counts = dict.fromkeys(event_types, 0)
    decayed = dict.fromkeys(event_types, 0.0)
    last: dict[str, datetime] = {}
    for e in before:
        if e.type in counts:
            counts[e.type] += 1
            decayed[e.type] += decay_factor((decision_time - e.occurred_at).total_seconds(), half_life_days)
            last[e.type] = max(last.get(e.type, e.occurred_at), e.occurred_at)

    def days_before(t: datetime | None) -> str | None:
        return None if t is None else _number((decision_time - t).total_seconds() / SECONDS_PER_DAY)

    for t in event_types:
        row[f"{t} count"] = str(counts[t])
        row[f"{t} decayed"] = _number(decayed[t])
        row[f"{t} days since last"] = days_before(last.get(t))
    window = RECENT_DAYS * SECONDS_PER_DAY
    recent = sum((decision_time - e.occurred_at).total_seconds() < window for e in before)
    row["two-way conversations"] = str(sum(e.two_way for e in before))
    row[f"events in the last {RECENT_DAYS} days"] = str(recent)
    row["days since last event"] = days_before(max((e.occurred_at for e in before), default=None))
    created = contact.created_at if contact.created_at and contact.created_at < decision_time else None
    row["days since created"] = days_before(created)
    return row
