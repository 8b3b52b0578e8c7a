"""How findings name records, amounts, dates and stages in sentences."""

from __future__ import annotations

from datetime import datetime

from leadledger.domain.audit.records import AuditAccount, AuditContact, AuditDeal
from leadledger.domain.policy import Policy


def money(amount: float | None) -> str:
    """$48,000 (no cents), or 'no amount'."""
    return "no amount" if amount is None else f"${amount:,.0f}"


def day(ts: datetime | None) -> str:
    """2026-07-01, or 'an unknown date'."""
    return ts.date().isoformat() if ts else "an unknown date"


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days from `earlier` to `later`."""
    return int((later - earlier).total_seconds() // 86_400)


def stage_label(policy: Policy, name: str | None) -> str:
    """The stage's display label (e.g. 'SQL (prospect)'), or the raw name if the policy lacks it."""
    if name is None:
        return "no stage"
    stage = policy.stage(name)
    return stage.label if stage else name


def contact_name(c: AuditContact, account: AuditAccount | None) -> str:
    """Dana Diaz <dana@acme.com> at Acme."""
    who = c.name.strip()
    mail = c.email or f"record {c.key}"
    person = f"{who} <{mail}>" if who else mail
    company = account.name if account else c.company
    return f"{person} at {company}" if company else person


def deal_name(d: AuditDeal, account: AuditAccount | None) -> str:
    """Deal 'Acme — Platform' (Acme, $48,000)."""
    where = f"{account.name}, " if account else ""
    return f"deal '{d.name}' ({where}{money(d.amount)})"


def listing(items: list[str] | tuple[str, ...]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
