"""The records the ledger keeps, as frozen value objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    """Engagement event types the policy can weigh."""

    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    PAGE_VIEW = "page_view"
    PRICING_PAGE_VIEW = "pricing_page_view"
    CONTENT_DOWNLOAD = "content_download"
    WEBINAR_ATTENDED = "webinar_attended"
    FORM_FILL = "form_fill"
    DEMO_REQUEST = "demo_request"
    TRIAL_USAGE = "trial_usage"
    TEAMMATE_INVITED = "teammate_invited"
    REPLY = "reply"
    CALL = "call"
    MEETING_SCHEDULED = "meeting_scheduled"
    MEETING_HELD = "meeting_held"
    UNSUBSCRIBE = "unsubscribe"
    BOUNCE = "bounce"


# Types that are a dialogue with a rep unless the event says otherwise.
TWO_WAY_BY_DEFAULT = frozenset(
    {EventType.REPLY, EventType.CALL, EventType.MEETING_SCHEDULED, EventType.MEETING_HELD}
)


class Source(StrEnum):
    """The tracked action that created a contact."""

    FORM_FILL = "form_fill"
    CONTENT_DOWNLOAD = "content_download"
    WEBINAR = "webinar"
    LIST_IMPORT = "list_import"
    EVENT_BADGE_SCAN = "event_badge_scan"
    NEWSLETTER = "newsletter"
    PARTNER_REFERRAL = "partner_referral"
    FREE_TRIAL = "free_trial"
    OUTBOUND = "outbound"
    OTHER = "other"


class OpportunityType(StrEnum):
    """New business, expansion of an existing customer, or renewal."""

    NEW = "new"
    EXPANSION = "expansion"
    RENEWAL = "renewal"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A company; customer status lives here."""

    id: int
    name: str
    domain: str
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    country: str | None = None
    tech_stack: tuple[str, ...] = ()
    owner: str | None = None
    churned_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """A person and their current stage."""

    id: int
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    seniority: str | None = None
    role: str | None = None
    account_id: int | None = None
    owner: str | None = None
    source: str | None = None
    opted_out: bool = False
    stage: str = "lead"
    stage_entered_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        """First and last name, as far as known."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One engagement event; `id` makes redelivery idempotent."""

    id: str
    contact_id: int
    type: str
    occurred_at: datetime
    two_way: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One confirmed qualification fact (e.g. need, authority) about a contact."""

    contact_id: int
    field: str
    value: str
    confirmed_by: str
    confirmed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRole:
    """A contact's role on an opportunity's buying committee."""

    contact_id: int
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Opportunity:
    """A deal; won only when the contract is signed AND booked."""

    id: int
    account_id: int
    name: str
    type: str = OpportunityType.NEW
    stage: str = "discovery"
    amount: float | None = None
    expected_close: datetime | None = None
    signed_at: datetime | None = None
    booked_at: datetime | None = None
    lost_reason: str | None = None
    owner: str | None = None
    roles: tuple[ContactRole, ...] = ()

    @property
    def is_won(self) -> bool:
        """Signed and booked: a verbal yes or an unsigned proposal is not won."""
        return self.signed_at is not None and self.booked_at is not None

    @property
    def is_open(self) -> bool:
        """Neither won nor lost."""
        return not self.is_won and self.lost_reason is None


@dataclass(frozen=True, slots=True, kw_only=True)
class StageChange:
    """One ledger entry: what moved, from, to, when, who, why, on what evidence."""

    contact_id: int
    from_stage: str | None
    to_stage: str
    at: datetime
    actor: str
    reason: str
    evidence: dict[str, object] = field(default_factory=dict)
    policy_version: str = ""
