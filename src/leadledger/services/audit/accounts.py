"""Accounts of an export: the companies file where there is one, else the company names that
contacts and deals mention; churn read off a lost renewal that came after the last win."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.services.audit.frames import Frame, Row, company_key, number


def read_accounts(
    f: Frame, fields: Mapping[str, Sequence[str]], label: Callable[[Row], str | None] | None = None
) -> dict[str, AuditAccount]:
    """A companies/accounts export keyed by company name (fields: name, domain, owner, employees,
    industry, revenue, country); `label` reads the company's lifecycle label where there is one."""
    out: dict[str, AuditAccount] = {}
    for row in f.records(fields):
        key = company_key(row.get("name"))
        if key is None:
            continue
        employees = number(row.get("employees"))
        out[key] = AuditAccount(
            key=key, name=row.get("name") or key, domain=row.get("domain"), owner=row.get("owner"),
            employees=int(employees) if employees is not None else None,
            industry=row.get("industry"), annual_revenue=number(row.get("revenue")),
            country=row.get("country"), label=label(row) if label else None,
        )
    return out


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


def export_snapshot(
    source: str,
    known: Mapping[str, AuditAccount],
    contacts: Sequence[AuditContact],
    deals: Sequence[AuditDeal],
    limitations: Sequence[str],
) -> AuditSnapshot:
    """An export's records as one snapshot, with every account they point at."""
    return AuditSnapshot(
        source=source,
        contacts=tuple(contacts),
        accounts=merge_accounts(known, contacts, deals),
        deals=tuple(deals),
        limitations=tuple(limitations),
    )


def no_deals(export: str) -> str:
    """The limitation an export without deals brings."""
    return f"No {export}: deal, pipeline and customer checks see no deals."
