"""Accounts of an export: the companies file where there is one, else the company names that
contacts and deals mention; churn read off a lost renewal that came after the last win."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, DealState


def _churned_at(deals: Sequence[AuditDeal]) -> datetime | None:
    won = [d.booked_at or d.expected_close for d in deals if d.state is DealState.WON]
    lost = [d.expected_close for d in deals if d.state is DealState.LOST and d.type == "renewal"]
    last_won = max((t for t in won if t is not None), default=None)
    last_lost = max((t for t in lost if t is not None), default=None)
    if last_won is not None and last_lost is not None and last_lost > last_won:
        return last_lost
    return None


def merge_accounts(
    known: Mapping[str, AuditAccount], contacts: Sequence[AuditContact], deals: Sequence[AuditDeal]
) -> tuple[AuditAccount, ...]:
    """Every account any record points at, with churn derived from lost renewals where not given."""
    accounts = dict(known)
    for key, name in [(c.account, c.company) for c in contacts] + [(d.account, None) for d in deals]:
        if key is not None and key not in accounts:
            accounts[key] = AuditAccount(key=key, name=name or key.title())
    by_account: dict[str, list[AuditDeal]] = {}
    for d in deals:
        if d.account is not None:
            by_account.setdefault(d.account, []).append(d)
    out = []
    for key, a in accounts.items():
        churned = _churned_at(by_account.get(key, []))
        if a.churned_at is None and churned is not None:
            a = replace(a, churned_at=churned)
        out.append(a)
    return tuple(out)
