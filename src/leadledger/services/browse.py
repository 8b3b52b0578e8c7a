"""Records one at a time or a page at a time (keyset pagination by id) for the API."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select

from leadledger.errors import NotFound
from leadledger.store.db import from_db
from leadledger.store.records import evidence_for, ledger_for
from leadledger.store.schema import (
    accounts,
    contacts,
    opportunities,
    opportunity_contacts,
    scores,
    stage_changes,
)

MAX_PAGE = 500


def _row(r: Any) -> dict[str, Any]:
    return {k: (from_db(v) if isinstance(v, datetime) else v) for k, v in r._mapping.items()}


def _page(engine: Engine, q: Select[Any], id_col: Any, after: int | None, limit: int) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_PAGE))
    if after is not None:
        q = q.where(id_col > after)
    with engine.connect() as conn:
        rows = [_row(r) for r in conn.execute(q.order_by(id_col).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": str(rows[-1]["id"]) if more and rows else None}


_CONTACT_COLS = (
    contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name, contacts.c.company,
    contacts.c.title, contacts.c.seniority, contacts.c.role, contacts.c.account_id, contacts.c.owner,
    contacts.c.source, contacts.c.opted_out, contacts.c.stage, contacts.c.stage_entered_at,
    contacts.c.created_at, contacts.c.updated_at,
)


def contact_page(engine: Engine, *, stage: str | None = None, owner: str | None = None,
                 account_id: int | None = None, source: str | None = None, email: str | None = None,
                 after: int | None = None, limit: int = 100) -> dict[str, Any]:
    """Contacts in id order after `after`, filtered; `next` is the cursor of the following page."""
    q = select(*_CONTACT_COLS)
    for col, value in ((contacts.c.stage, stage), (contacts.c.owner, owner),
                       (contacts.c.account_id, account_id), (contacts.c.source, source)):
        if value is not None:
            q = q.where(col == value)
    if email is not None:
        q = q.where(contacts.c.email == email.strip().lower())
    return _page(engine, q, contacts.c.id, after, limit)


def contact(engine: Engine, contact_id: int) -> dict[str, Any]:
    """One contact with its account's domain and name and its stored score; NotFound if absent."""
    q = (
        select(*_CONTACT_COLS, accounts.c.domain.label("account_domain"),
               accounts.c.name.label("account_name"),
               scores.c.total.label("score"), scores.c.fit, scores.c.behavior, scores.c.scored_at)
        .select_from(contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id)
                     .outerjoin(scores, scores.c.contact_id == contacts.c.id))
        .where(contacts.c.id == contact_id)
    )
    with engine.connect() as conn:
        r = conn.execute(q).first()
    if r is None:
        raise NotFound(f"no contact with id {contact_id}")
    return _row(r)


def contact_email(engine: Engine, contact_id: int) -> str:
    """The email of contact `contact_id`; NotFound if absent."""
    with engine.connect() as conn:
        email = conn.execute(select(contacts.c.email).where(contacts.c.id == contact_id)).scalar()
    if email is None:
        raise NotFound(f"no contact with id {contact_id}")
    return str(email)


def contact_ledger(engine: Engine, contact_id: int) -> list[dict[str, Any]]:
    """The contact's stage changes, oldest first; NotFound if absent."""
    contact_email(engine, contact_id)
    with engine.connect() as conn:
        return [asdict(s) for s in ledger_for(conn, contact_id)]


def contact_evidence(engine: Engine, contact_id: int) -> list[dict[str, Any]]:
    """The contact's qualification evidence; NotFound if absent."""
    contact_email(engine, contact_id)
    with engine.connect() as conn:
        return [asdict(e) for e in evidence_for(conn, [contact_id])]


def last_stage_change(engine: Engine, contact_id: int) -> dict[str, Any]:
    """The newest ledger entry of a contact (with its id)."""
    q = (select(stage_changes).where(stage_changes.c.contact_id == contact_id)
         .order_by(stage_changes.c.at.desc(), stage_changes.c.id.desc()).limit(1))
    with engine.connect() as conn:
        r = conn.execute(q).first()
    if r is None:
        raise NotFound(f"no ledger entry for contact {contact_id}")
    d = _row(r)
    d["evidence"] = json.loads(d["evidence"]) if isinstance(d["evidence"], str) else d["evidence"]
    return d


_ACCOUNT_COLS = (
    accounts.c.id, accounts.c.domain, accounts.c.name, accounts.c.industry, accounts.c.employees,
    accounts.c.annual_revenue, accounts.c.country, accounts.c.tech_stack, accounts.c.owner,
    accounts.c.churned_at, accounts.c.created_at, accounts.c.updated_at,
)


def account_page(engine: Engine, *, industry: str | None = None, owner: str | None = None,
                 domain: str | None = None, after: int | None = None, limit: int = 100) -> dict[str, Any]:
    """Accounts in id order after `after`, filtered."""
    q = select(*_ACCOUNT_COLS)
    if industry is not None:
        q = q.where(accounts.c.industry == industry.strip().lower())
    if owner is not None:
        q = q.where(accounts.c.owner == owner)
    if domain is not None:
        q = q.where(accounts.c.domain == domain.strip().lower())
    return _page(engine, q, accounts.c.id, after, limit)


def account(engine: Engine, account_id: int) -> dict[str, Any]:
    """One account with its contact count; NotFound if absent."""
    n = select(func.count()).where(contacts.c.account_id == accounts.c.id).scalar_subquery()
    with engine.connect() as conn:
        q = select(*_ACCOUNT_COLS, n.label("contacts")).where(accounts.c.id == account_id)
        r = conn.execute(q).first()
    if r is None:
        raise NotFound(f"no account with id {account_id}")
    return _row(r)


_OPP_COLS = (
    opportunities.c.id, opportunities.c.external_id.label("opportunity_id"), opportunities.c.account_id,
    opportunities.c.name, opportunities.c.type, opportunities.c.stage, opportunities.c.amount,
    opportunities.c.expected_close, opportunities.c.signed_at, opportunities.c.booked_at,
    opportunities.c.lost_reason, opportunities.c.owner, opportunities.c.created_at,
    opportunities.c.updated_at,
)


def opportunity_page(engine: Engine, *, account_id: int | None = None, stage: str | None = None,
                     is_open: bool | None = None, after: int | None = None, limit: int = 100
                     ) -> dict[str, Any]:
    """Opportunities in id order after `after`, filtered (open = not lost and not signed-and-booked)."""
    q = select(*_OPP_COLS)
    if account_id is not None:
        q = q.where(opportunities.c.account_id == account_id)
    if stage is not None:
        q = q.where(opportunities.c.stage == stage)
    if is_open is not None:
        won = opportunities.c.signed_at.is_not(None) & opportunities.c.booked_at.is_not(None)
        open_ = opportunities.c.lost_reason.is_(None) & ~won
        q = q.where(open_ if is_open else ~open_)
    return _page(engine, q, opportunities.c.id, after, limit)


def opportunity(engine: Engine, opportunity_id: int) -> dict[str, Any]:
    """One opportunity with its buying committee (contact id, email, role); NotFound if absent."""
    with engine.connect() as conn:
        r = conn.execute(select(*_OPP_COLS).where(opportunities.c.id == opportunity_id)).first()
        if r is None:
            raise NotFound(f"no opportunity with id {opportunity_id}")
        committee = conn.execute(
            select(opportunity_contacts.c.contact_id, contacts.c.email, opportunity_contacts.c.role)
            .join(contacts, contacts.c.id == opportunity_contacts.c.contact_id)
            .where(opportunity_contacts.c.opportunity_id == opportunity_id)
            .order_by(opportunity_contacts.c.role, contacts.c.email)
        ).all()
    d = _row(r)
    d["committee"] = [{"contact_id": c.contact_id, "email": c.email, "role": c.role} for c in committee]
    return d


def emails_for_ids(engine: Engine, ids: set[int]) -> dict[int, str]:
    """contact id → email for the ids that exist."""
    out: dict[int, str] = {}
    ordered = sorted(ids)
    with engine.connect() as conn:
        for i in range(0, len(ordered), 5_000):
            chunk = ordered[i : i + 5_000]
            out.update((int(k), str(v)) for k, v in conn.execute(
                select(contacts.c.id, contacts.c.email).where(contacts.c.id.in_(chunk))))
    return out
