"""The ledger as an audit snapshot: a handful of set-based reads, one row per contact, no raw events.

Fit and score are computed in the query (the batch scorer's own expressions), so the audit needs
no prior `leadledger score`; evidence and first touches are read only for the stages whose gates
or SLAs the audit checks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, literal, select

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.domain.facts import latest_evidence
from leadledger.domain.policy import Policy
from leadledger.domain.records import Evidence
from leadledger.store.activity import now_factor
from leadledger.store.batch_scoring import behavior_expression, fit_expression
from leadledger.store.bulk import is_postgres
from leadledger.store.db import from_db
from leadledger.store.schema import (
    accounts,
    contact_activity,
    contacts,
    events,
    evidence,
    opportunities,
    opportunity_contacts,
)

WON_STAGES = ("closed_won", "won")
LOST_STAGES = ("closed_lost", "lost")


def gated_stages(policy: Policy) -> tuple[str, ...]:
    """Stages whose records the audit runs gates on (and so needs fit, score and evidence for)."""
    return tuple(s.name for s in policy.main_stages[1:])


def _only(stages: tuple[str, ...], expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """`expr` for contacts in `stages`, NULL elsewhere (SQL skips the work for the rest)."""
    return case((contacts.c.stage.in_(stages), expr), else_=literal(None))


def _contacts(conn: Connection, policy: Policy, now: datetime) -> list[Any]:
    pg = is_postgres(conn)
    gated = gated_stages(policy)
    _, factor = now_factor(conn, now)
    fit = fit_expression(policy, pg)
    buying = [contact_activity.c[f"{t}_n"] for t in policy.buying_signal_events
              if f"{t}_n" in contact_activity.c]
    signals = sum(buying[1:], buying[0]) if buying else literal(0)
    q = select(
        contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name, contacts.c.company,
        contacts.c.title, contacts.c.account_id, contacts.c.owner, contacts.c.source, contacts.c.stage,
        contacts.c.stage_entered_at, contacts.c.created_at,
        _only(gated, fit).label("fit"),
        _only(gated, fit + behavior_expression(policy, factor, pg)).label("score"),
        contact_activity.c.two_way_n, signals.label("signals"), contact_activity.c.trial_usage_n,
        contact_activity.c.last_activity_at,
    ).select_from(
        contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id).outerjoin(
            contact_activity, contact_activity.c.contact_id == contacts.c.id
        )
    ).order_by(contacts.c.id)
    return list(conn.execute(q))


def _evidence(conn: Connection, stages: tuple[str, ...]) -> dict[int, list[Evidence]]:
    out: dict[int, list[Evidence]] = defaultdict(list)
    q = (
        select(evidence)
        .join(contacts, contacts.c.id == evidence.c.contact_id)
        .where(contacts.c.stage.in_(stages))
        .order_by(evidence.c.confirmed_at)
    )
    for r in conn.execute(q):
        out[r.contact_id].append(
            Evidence(contact_id=r.contact_id, field=r.field, value=r.value, confirmed_by=r.confirmed_by,
                     confirmed_at=from_db(r.confirmed_at) or r.confirmed_at)
        )
    return out


def _first_touches(conn: Connection, stages: tuple[str, ...]) -> dict[int, datetime | None]:
    """First two-way event at or after stage entry, for contacts in SLA stages."""
    if not stages:
        return {}
    q = (
        select(events.c.contact_id, func.min(events.c.occurred_at).label("first"))
        .join(contacts, contacts.c.id == events.c.contact_id)
        .where(contacts.c.stage.in_(stages), events.c.two_way,
               events.c.occurred_at >= contacts.c.stage_entered_at)
        .group_by(events.c.contact_id)
    )
    return {r.contact_id: from_db(r.first) for r in conn.execute(q)}


def _accounts(conn: Connection) -> list[AuditAccount]:
    return [
        AuditAccount(
            key=str(r.id), name=r.name, domain=r.domain, owner=r.owner, employees=r.employees,
            industry=r.industry, annual_revenue=r.annual_revenue, country=r.country,
            churned_at=from_db(r.churned_at),
        )
        for r in conn.execute(select(accounts).order_by(accounts.c.id))
    ]


def _state(r: Any) -> DealState:
    if (r.signed_at is not None and r.booked_at is not None) or r.stage in WON_STAGES:
        return DealState.WON
    if r.lost_reason is not None or r.stage in LOST_STAGES:
        return DealState.LOST
    return DealState.OPEN


def _deals(conn: Connection, emails: dict[int, str]) -> list[AuditDeal]:
    roles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for r in conn.execute(select(opportunity_contacts).order_by(
            opportunity_contacts.c.opportunity_id, opportunity_contacts.c.contact_id)):
        if r.contact_id in emails:
            roles[r.opportunity_id].append((emails[r.contact_id], r.role))
    return [
        AuditDeal(
            key=r.external_id, name=r.name, account=str(r.account_id), state=_state(r), stage=r.stage,
            amount=r.amount, expected_close=from_db(r.expected_close), signed_at=from_db(r.signed_at),
            booked_at=from_db(r.booked_at), owner=r.owner, type=r.type, created_at=from_db(r.created_at),
            stage_since=from_db(r.updated_at), contacts=tuple(roles.get(r.id, ())),
        )
        for r in conn.execute(select(opportunities).order_by(opportunities.c.id))
    ]


def read_audit_snapshot(conn: Connection, policy: Policy, now: datetime) -> AuditSnapshot:
    """Everything the audit needs from the ledger, as of `now`."""
    gated = gated_stages(policy)
    sla = tuple(s.name for s in policy.stages if s.sla_first_touch_hours is not None)
    rows = _contacts(conn, policy, now)
    ev = _evidence(conn, gated)
    touches = _first_touches(conn, sla)
    emails = {r.id: r.email for r in rows}
    people = []
    for r in rows:
        checked = r.stage in gated
        people.append(
            AuditContact(
                key=r.email, email=r.email, label=r.stage, source_label=r.stage,
                name=" ".join(p for p in (r.first_name, r.last_name) if p), company=r.company,
                account=str(r.account_id) if r.account_id is not None else None, owner=r.owner,
                source=r.source, title=r.title, label_since=from_db(r.stage_entered_at),
                created_at=from_db(r.created_at), last_activity_at=from_db(r.last_activity_at),
                first_touch_at=touches.get(r.id),
                fit=float(r.fit) if r.fit is not None else None if not checked else 0.0,
                score=float(r.score) if r.score is not None else None if not checked else 0.0,
                evidence=latest_evidence(ev.get(r.id, ())) if checked else None,
                two_way_count=int(r.two_way_n or 0), buying_signal_count=int(r.signals or 0),
                trial_usage_count=int(r.trial_usage_n or 0),
            )
        )
    return AuditSnapshot(
        source="ledger",
        contacts=tuple(people),
        accounts=tuple(_accounts(conn)),
        deals=tuple(_deals(conn, emails)),
    )
