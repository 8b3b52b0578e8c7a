"""One contact's recorded history, and what was known about it at any moment of a replay."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import datetime

from leadledger.domain.facts import ContactFacts, latest_evidence
from leadledger.domain.policy import Policy
from leadledger.domain.records import Account, Contact, Event, Evidence, Opportunity, StageChange

# The four questions are the same in both frameworks: a confirmed need is an identified pain,
# confirmed authority is access to the economic buyer. Replaying BANT history under a MEDDIC
# policy (or back) counts the one as the other instead of finding no evidence at all.
EVIDENCE_EQUIVALENTS = {
    "need": "identified_pain",
    "identified_pain": "need",
    "authority": "economic_buyer",
    "economic_buyer": "authority",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DatedOpportunity:
    """An opportunity with the dates that let a replay see it as it stood at a moment."""

    record: Opportunity
    created_at: datetime
    updated_at: datetime

    def as_of(self, at: datetime) -> Opportunity | None:
        """The opportunity as known at `at`: not yet created, open, or signed/booked/lost by then."""
        if self.created_at > at:
            return None
        o = self.record
        signed = o.signed_at if o.signed_at is not None and o.signed_at <= at else None
        booked = o.booked_at if o.booked_at is not None and o.booked_at <= at else None
        lost = o.lost_reason if o.lost_reason is not None and self.updated_at <= at else None
        if (signed, booked, lost) == (o.signed_at, o.booked_at, o.lost_reason):
            return o
        return replace(o, signed_at=signed, booked_at=booked, lost_reason=lost)


class EventsNeeded(Exception):
    """Raised by a replay that needs the events of a history read without them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactHistory:
    """Everything recorded about one contact, each part sorted by time."""

    contact: Contact
    account: Account | None
    events: tuple[Event, ...]
    evidence: tuple[Evidence, ...]
    opportunities: tuple[DatedOpportunity, ...]
    ledger: tuple[StageChange, ...]
    events_loaded: bool = True  # False: read without its events, which a replay asks for if it needs them
    event_times: tuple[datetime, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # most histories of a replay's first pass are read without their events: no generator for them
        times = tuple(e.occurred_at for e in self.events) if self.events else ()
        object.__setattr__(self, "event_times", times)

    def events_until(self, at: datetime) -> int:
        """How many events happened at or before `at`."""
        self.need_events()
        return bisect_right(self.event_times, at)

    def need_events(self) -> None:
        """Ask for the events if they were not read."""
        if not self.events_loaded:
            raise EventsNeeded(self.contact.id)

    def won_booked_at(self) -> datetime | None:
        """When the account first had a signed-and-booked deal, if ever."""
        booked = [o.record.booked_at for o in self.opportunities if o.record.is_won]
        return min((b for b in booked if b is not None), default=None)


def evidence_as_of(h: ContactHistory, at: datetime, *, translate: bool) -> dict[str, Evidence]:
    """The latest confirmation of each field by `at`, with framework equivalents if `translate`."""
    latest = latest_evidence(e for e in h.evidence if e.confirmed_at <= at)
    if translate:
        for name, ev in list(latest.items()):
            other = EVIDENCE_EQUIVALENTS.get(name)
            if other is not None and other not in latest:
                latest[other] = replace(ev, field=other)
    return latest


def facts_at(
    h: ContactHistory,
    policy: Policy,
    *,
    stage: str,
    entered: datetime,
    at: datetime,
    fit: float,
    score: float,
    translate: bool,
) -> ContactFacts:
    """What a gate at `at` would have seen, with the contact in `stage` since `entered`."""
    n = h.events_until(at)
    past = h.events[:n]
    buying = set(policy.buying_signal_events)
    account = h.account
    if account is not None and account.churned_at is not None and account.churned_at > at:
        account = replace(account, churned_at=None)
    touches = [e.occurred_at for e in past if e.two_way and e.occurred_at >= entered]
    return ContactFacts(
        contact=replace(h.contact, stage=stage, stage_entered_at=entered),
        account=account,
        fit=fit,
        score=score,
        evidence=evidence_as_of(h, at, translate=translate),
        two_way_count=sum(1 for e in past if e.two_way),
        buying_signal_count=sum(1 for e in past if e.type in buying),
        trial_usage_count=sum(1 for e in past if e.type == "trial_usage"),
        opportunities=tuple(o for d in h.opportunities if (o := d.as_of(at)) is not None),
        last_activity_at=past[-1].occurred_at if past else None,
        first_touch_at=min(touches, default=None),
    )
