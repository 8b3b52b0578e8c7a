"""The audit's view of a pipeline: flat, frozen records that a ledger or a CRM export both become.

A field set to None means "the source does not say". The rules check what is known and report
what they could not check, so an export without evidence records is audited as far as it goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from leadledger.domain.records import Evidence


class DealState(StrEnum):
    """What the source reports about a deal (not what the evidence supports)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditAccount:
    """A company as the source knows it."""

    key: str
    name: str
    domain: str | None = None
    owner: str | None = None
    employees: int | None = None
    industry: str | None = None
    annual_revenue: float | None = None
    country: str | None = None
    churned_at: datetime | None = None
    label: str | None = None  # the company's own lifecycle label, where the source keeps one


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditContact:
    """A person and the label the source gives them, with whatever evidence the source carries."""

    key: str  # the record's id in the source (the email for the ledger)
    email: str | None
    label: str  # a policy stage name (the source's own label mapped onto the policy)
    source_label: str | None = None  # the label as written in the source
    name: str = ""
    company: str | None = None
    account: str | None = None  # an AuditAccount key
    owner: str | None = None
    source: str | None = None
    title: str | None = None
    label_since: datetime | None = None
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    first_touch_at: datetime | None = None
    fit: float | None = None
    score: float | None = None
    evidence: Mapping[str, Evidence] | None = None
    two_way_count: int | None = None
    buying_signal_count: int | None = None
    trial_usage_count: int | None = None
    status_note: str | None = None  # e.g. the CRM's lead status, quoted in findings


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditDeal:
    """An opportunity as the source reports it; signed/booked dates only where the source has them."""

    key: str
    name: str
    account: str | None
    state: DealState
    stage: str  # the deal stage as written in the source
    amount: float | None = None
    expected_close: datetime | None = None
    signed_at: datetime | None = None
    booked_at: datetime | None = None
    signed_known: bool = True  # False: the source has no contract-signed column
    booked_known: bool = True  # False: the source has no booked / invoiced column
    owner: str | None = None
    type: str = "new"
    created_at: datetime | None = None
    stage_since: datetime | None = None  # last stage change or update, whichever the source has
    last_activity_at: datetime | None = None
    contacts: tuple[tuple[str, str], ...] = ()  # (contact key, committee role)
    contact_count: int | None = None  # where the source gives a count but not the contacts
    probability: float | None = None
    forecast_category: str | None = None

    @property
    def is_signed_and_booked(self) -> bool:
        """Won by the evidence: a contract signed AND booked."""
        return self.signed_at is not None and self.booked_at is not None

    @property
    def committee_size(self) -> int | None:
        """How many distinct contacts are on the deal, if known."""
        if self.contacts:
            return len({c for c, _ in self.contacts})
        return self.contact_count


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSnapshot:
    """Everything one audit looks at, and what its source cannot tell."""

    source: str  # "ledger", "hubspot export", …
    contacts: tuple[AuditContact, ...]
    accounts: tuple[AuditAccount, ...] = ()
    deals: tuple[AuditDeal, ...] = ()
    limitations: tuple[str, ...] = field(default=())  # sentences: what this source cannot show
    # Contacts the source left out of `contacts` because no contact rule can flag them (see
    # `scope.contact_scope`), counted by label: they still count in the totals' funnel.
    unlisted: tuple[tuple[str, int], ...] = ()

    @property
    def contact_count(self) -> int:
        """Listed and unlisted contacts."""
        return len(self.contacts) + sum(n for _, n in self.unlisted)
