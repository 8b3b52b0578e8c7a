"""The indexes every rule shares: accounts by key, deals by account, account customer status."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from leadledger.domain.audit.labels import deal_as_opportunity, prospect_stages
from leadledger.domain.audit.records import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.domain.policy import Policy, Stage
from leadledger.domain.records import Opportunity

FREE_MAIL = frozenset(
    {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "proton.me",
     "protonmail.com", "gmx.de", "web.de", "live.com", "msn.com", "mail.com"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    """Thresholds the policy file does not carry (defaults documented in docs/audit.md)."""

    stale_days: int = 60
    enterprise_deal_amount: float = 100_000.0  # when the source has no employee count
    free_mail_domains: frozenset[str] = field(default=FREE_MAIL)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountStatus:
    """Whether an account is a customer on the evidence, and the deals behind the answer."""

    customer: bool
    won: tuple[AuditDeal, ...]  # signed and booked (or reported won where the source cannot say)
    assumed: bool  # some win rests on a CRM flag because the source has no booking column
    churned_at: datetime | None
    last_booked: datetime | None


def counts_as_won(deal: AuditDeal) -> bool:
    """Signed and booked; where the source lacks those columns, the CRM's own won flag."""
    if deal.signed_known and deal.booked_known:
        return deal.is_signed_and_booked
    return deal.state is DealState.WON and (deal.signed_known is False or deal.signed_at is not None) and (
        deal.booked_known is False or deal.booked_at is not None
    )


class AuditContext:
    """One audit run's inputs and shared lookups."""

    def __init__(
        self, snapshot: AuditSnapshot, policy: Policy, now: datetime, settings: AuditSettings
    ) -> None:
        self.snapshot = snapshot
        self.policy = policy
        self.now = now
        self.settings = settings
        self.accounts: dict[str, AuditAccount] = {a.key: a for a in snapshot.accounts}
        self.deals_by_account: dict[str, list[AuditDeal]] = defaultdict(list)
        for d in snapshot.deals:
            if d.account is not None:
                self.deals_by_account[d.account].append(d)
        self._status: dict[str, AccountStatus] = {}
        self._opps: dict[str, tuple[Opportunity, ...]] = {}

    @cached_property
    def contact_ids(self) -> dict[str, int]:
        """A small integer per contact key (committee roles refer to contacts by id)."""
        return {c.key: i for i, c in enumerate(self.snapshot.contacts, 1)}

    @cached_property
    def prospect_stages(self) -> tuple[Stage, ...]:
        """The policy's prospect stages, in order."""
        return prospect_stages(self.policy)

    @cached_property
    def _stages(self) -> dict[str, Stage]:
        return {s.name: s for s in self.policy.stages}

    def stage(self, name: str) -> Stage | None:
        """The policy's stage called `name`, if any."""
        return self._stages.get(name)

    @cached_property
    def contacts(self) -> dict[str, AuditContact]:
        """Contacts by key."""
        return {c.key: c for c in self.snapshot.contacts}

    def account_of(self, contact: AuditContact) -> AuditAccount | None:
        """The contact's account, if the source links one."""
        return self.accounts.get(contact.account) if contact.account is not None else None

    def deals_of(self, account_key: str | None) -> list[AuditDeal]:
        """The account's deals (none without an account)."""
        return self.deals_by_account.get(account_key, []) if account_key is not None else []

    def opportunities_of(self, account_key: str | None) -> tuple[Opportunity, ...]:
        """The account's deals as ledger opportunities, for the policy's gates."""
        if account_key is None:
            return ()
        if account_key not in self._opps:
            ids = self.contact_ids
            self._opps[account_key] = tuple(
                deal_as_opportunity(d, i, ids) for i, d in enumerate(self.deals_of(account_key), 1)
            )
        return self._opps[account_key]

    def status(self, account_key: str | None) -> AccountStatus:
        """Customer status of an account, account-level: a win, and no churn since the last booking."""
        if account_key is None:
            return AccountStatus(customer=False, won=(), assumed=False, churned_at=None, last_booked=None)
        if account_key not in self._status:
            won = tuple(d for d in self.deals_of(account_key) if counts_as_won(d))
            dates = [d.booked_at or d.expected_close for d in won]
            last = max((t for t in dates if t is not None), default=None)
            account = self.accounts.get(account_key)
            churned = account.churned_at if account else None
            customer = bool(won) and (churned is None or last is None or churned < last)
            assumed = any(not (d.signed_known and d.booked_known) for d in won)
            self._status[account_key] = AccountStatus(
                customer=customer, won=won, assumed=assumed, churned_at=churned, last_booked=last
            )
        return self._status[account_key]

