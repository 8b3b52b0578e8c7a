"""Sweeps: SLA breaches and dormancy recycling, as decisions over facts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadledger.domain.facts import ContactFacts
from leadledger.domain.policy import Policy
from leadledger.domain.records import StageChange


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaBreach:
    """A record whose stage owes a first touch that is late."""

    contact_id: int
    email: str
    stage: str
    owner: str | None
    due_at: datetime
    touched_at: datetime | None
    hours_late: float


def sla_breaches(facts: Iterable[ContactFacts], policy: Policy, now: datetime) -> Iterator[SlaBreach]:
    """Yield every first-touch SLA that is breached as of `now`."""
    for f in facts:
        stage = policy.stage(f.contact.stage)
        entered = f.contact.stage_entered_at
        if stage is None or stage.sla_first_touch_hours is None or entered is None:
            continue
        due = entered + timedelta(hours=stage.sla_first_touch_hours)
        touched = f.first_touch_at
        late_at = touched if touched is not None else now
        if late_at > due:
            yield SlaBreach(
                contact_id=f.contact.id,
                email=f.contact.email,
                stage=stage.name,
                owner=f.contact.owner,
                due_at=due,
                touched_at=touched,
                hours_late=(late_at - due).total_seconds() / 3600,
            )


def dormancy_moves(facts: Iterable[ContactFacts], policy: Policy, now: datetime) -> Iterator[StageChange]:
    """Yield the recycling move for every record dormant longer than the policy allows."""
    rule = policy.dormancy
    if rule is None:
        return
    cutoff = now - timedelta(days=rule.after_days)
    for f in facts:
        if f.contact.stage not in rule.applies_to or f.account_is_customer:
            continue  # customers' contacts route to the account owner, never back to nurture
        last = f.last_activity_at or f.contact.created_at
        if last is None or last >= cutoff:
            continue
        yield StageChange(
            contact_id=f.contact.id,
            from_stage=f.contact.stage,
            to_stage=rule.move_to,
            at=now,
            actor="rule:dormancy",
            reason=f"no activity for {rule.after_days} days",
            evidence={"last_activity_at": last.isoformat(), "dormant_after_days": rule.after_days},
            policy_version=policy.version,
        )
