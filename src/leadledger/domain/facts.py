"""What is known about one contact at a moment: the input to gates, classifier and sweeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from leadledger.domain.policy import Policy
from leadledger.domain.records import Account, Contact, Event, Evidence, Opportunity


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactFacts:
    """Aggregated facts about a contact; built the same way for one record or a batch."""

    contact: Contact
    account: Account | None = None
    fit: float = 0.0
    score: float = 0.0
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    two_way_count: int = 0
    buying_signal_count: int = 0
    trial_usage_count: int = 0
    opportunities: tuple[Opportunity, ...] = ()
    last_activity_at: datetime | None = None
    first_touch_at: datetime | None = None

    @property
    def won_opportunities(self) -> tuple[Opportunity, ...]:
        """The account's signed-and-booked opportunities."""
        return tuple(o for o in self.opportunities if o.is_won)

    @property
    def account_is_customer(self) -> bool:
        """Account-level: a signed-and-booked deal, and no churn since the last booking."""
        won = self.won_opportunities
        if not won:
            return False
        churned = self.account.churned_at if self.account else None
        last_booked = max(o.booked_at for o in won if o.booked_at is not None)
        return churned is None or churned < last_booked

    def is_enterprise(self, policy: Policy) -> bool:
        """Whether the enterprise tier's extra evidence applies to this contact."""
        limit = policy.enterprise_min_employees
        employees = self.account.employees if self.account else None
        return limit is not None and employees is not None and employees >= limit

    def with_evidence(self, extra: Iterable[Evidence]) -> ContactFacts:
        """The same facts plus newly supplied evidence (newest wins per field)."""
        merged = dict(self.evidence)
        for ev in extra:
            merged[ev.field] = ev
        return replace(self, evidence=merged)


def latest_evidence(evidence: Iterable[Evidence]) -> dict[str, Evidence]:
    """The most recent confirmation of each field."""
    out: dict[str, Evidence] = {}
    for ev in sorted(evidence, key=lambda e: e.confirmed_at):
        out[ev.field] = ev
    return out


def gather_facts(
    *,
    contact: Contact,
    account: Account | None,
    events: Iterable[Event],
    evidence: Iterable[Evidence],
    opportunities: Iterable[Opportunity],
    fit: float,
    score: float,
    policy: Policy,
) -> ContactFacts:
    """Build a contact's facts from its full records (the per-record path)."""
    ev_list = list(events)
    buying = set(policy.buying_signal_events)
    trial_type = "trial_usage"
    entered = contact.stage_entered_at
    touches = [e.occurred_at for e in ev_list if e.two_way and (entered is None or e.occurred_at >= entered)]
    return ContactFacts(
        contact=contact,
        account=account,
        fit=fit,
        score=score,
        evidence=latest_evidence(evidence),
        two_way_count=sum(1 for e in ev_list if e.two_way),
        buying_signal_count=sum(1 for e in ev_list if e.type in buying),
        trial_usage_count=sum(1 for e in ev_list if e.type == trial_type),
        opportunities=tuple(opportunities),
        last_activity_at=max((e.occurred_at for e in ev_list), default=None),
        first_touch_at=min(touches, default=None),
    )
