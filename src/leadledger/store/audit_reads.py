"""The ledger as an audit snapshot: a handful of set-based reads, no raw events.

Only the contacts a rule can flag are listed: those in the contact rules' scope
(`domain.audit.scope`) with their gate inputs, plus deal contacts and duplicate candidates, which
only the deal and duplicate rules look at (their gate inputs are left unknown). The others are
counted by stage, which is all the totals need. Fit and score are computed in the query (the batch
scorer's own expressions) for gated stages, so the audit needs no prior `leadledger score`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    case,
    column,
    func,
    literal,
    or_,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.sql import Select

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.domain.audit.scope import contact_scope
from leadledger.domain.facts import latest_evidence
from leadledger.domain.policy import Policy
from leadledger.domain.records import Evidence
from leadledger.store.activity import now_factor
from leadledger.store.audit_duplicates import duplicate_candidates
from leadledger.store.batch_scoring import behavior_expression, fit_expression
from leadledger.store.bulk import bulk_insert, create_temp_table, is_postgres
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
LISTED = table("audit_listed", column("id"), column("checked"))


def gated_stages(policy: Policy) -> tuple[str, ...]:
    """Stages whose records the audit runs gates on (and so needs fit, score and evidence for)."""
    return tuple(s.name for s in policy.main_stages[1:])


def _ts(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """A timestamp column read as the driver returns it (`from_db` parses SQLite's text)."""
    return type_coerce(col, String)


def _only(stages: tuple[str, ...], expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """`expr` for checked contacts in `stages`, NULL elsewhere (SQL skips the work for the rest)."""
    return case((and_(LISTED.c.checked == 1, contacts.c.stage.in_(stages)), expr), else_=literal(None))


def _in_scope(policy: Policy) -> list[Select[Any]]:
    """Ids of the contacts some contact rule may flag."""
    scope = contact_scope(policy)
    c = contacts.c
    won = select(opportunities.c.account_id).where(
        opportunities.c.signed_at.is_not(None), opportunities.c.booked_at.is_not(None)
    )
    churned = select(accounts.c.id).where(accounts.c.churned_at.is_not(None))
    parts = []
    if scope.every:
        parts.append(select(c.id).where(c.stage.in_(scope.every)))
    if scope.unowned:
        parts.append(select(c.id).where(c.stage.in_(scope.unowned), or_(c.owner.is_(None), c.owner == "")))
    if scope.at_customer:
        parts.append(select(c.id).where(c.stage.in_(scope.at_customer), c.account_id.in_(won)))
    if scope.not_at_customer:
        parts.append(select(c.id).where(
            c.stage.in_(scope.not_at_customer),
            or_(c.account_id.is_(None), c.account_id.not_in(won), c.account_id.in_(churned)),
        ))
    return parts


def _list_contacts(conn: Connection, policy: Policy, complete: bool) -> None:
    """Fill the temporary table `audit_listed`: ids to list, `checked` where gate inputs are read."""
    create_temp_table(conn, "audit_listed", [("id", "INTEGER PRIMARY KEY"), ("checked", "INTEGER")])
    if complete:
        conn.execute(LISTED.insert().from_select(["id", "checked"], select(contacts.c.id, literal(1))))
        return
    create_temp_table(conn, "audit_duplicates", [("id", "INTEGER")])
    bulk_insert(conn, "audit_duplicates", ("id",), ((i,) for i in duplicate_candidates(conn)))
    others = [select(opportunity_contacts.c.contact_id), select(table("audit_duplicates", column("id")).c.id)]
    flagged = union_all(
        *[select(p.subquery().c[0].label("id"), literal(1).label("checked")) for p in _in_scope(policy)],
        *[select(p.subquery().c[0].label("id"), literal(0).label("checked")) for p in others],
    ).subquery()
    rows = select(flagged.c.id, func.max(flagged.c.checked)).group_by(flagged.c.id)
    conn.execute(LISTED.insert().from_select(["id", "checked"], rows))


def _contacts(conn: Connection, policy: Policy, now: datetime) -> list[Any]:
    pg = is_postgres(conn)
    gated = gated_stages(policy)
    _, factor = now_factor(conn, now)
    fit = fit_expression(policy, pg)
    buying = [contact_activity.c[f"{t}_n"] for t in policy.buying_signal_events
              if f"{t}_n" in contact_activity.c]
    signals = sum(buying[1:], buying[0]) if buying else literal(0)
    c = contacts.c
    q = select(
        c.id, c.email, c.first_name, c.last_name, c.company, c.title, c.account_id, c.owner, c.source,
        c.stage, _ts(c.stage_entered_at), _ts(c.created_at),
        _only(gated, fit).label("fit"),
        _only(gated, behavior_expression(policy, factor, pg)).label("behavior"),
        contact_activity.c.two_way_n, signals.label("signals"), contact_activity.c.trial_usage_n,
        _ts(contact_activity.c.last_activity_at), LISTED.c.checked,
    ).select_from(
        LISTED.join(contacts, c.id == LISTED.c.id)
        .outerjoin(accounts, accounts.c.id == c.account_id)
        .outerjoin(contact_activity, contact_activity.c.contact_id == c.id)
    ).order_by(LISTED.c.id)
    return list(conn.execute(q).all())


def _unlisted(conn: Connection, listed: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Contacts per stage that are not listed."""
    rows = conn.execute(select(contacts.c.stage, func.count()).group_by(contacts.c.stage))
    return tuple((s, n - listed[s]) for s, n in sorted(rows.all()) if n > listed[s])


def _evidence(conn: Connection, stages: tuple[str, ...]) -> dict[int, list[Evidence]]:
    out: dict[int, list[Evidence]] = defaultdict(list)
    e = evidence.c
    q = (
        select(e.contact_id, e.field, e.value, e.confirmed_by, _ts(e.confirmed_at))
        .select_from(
            LISTED.join(contacts, contacts.c.id == LISTED.c.id).join(evidence, e.contact_id == LISTED.c.id)
        )
        .where(LISTED.c.checked == 1, contacts.c.stage.in_(stages))
    )
    for cid, field, value, by, at in conn.execute(q).all():
        confirmed = from_db(at)
        assert confirmed is not None
        out[cid].append(
            Evidence(contact_id=cid, field=field, value=value, confirmed_by=by, confirmed_at=confirmed)
        )
    return out


def _first_touches(conn: Connection, stages: tuple[str, ...]) -> dict[int, datetime | None]:
    """First two-way event at or after stage entry, for listed contacts in SLA stages."""
    if not stages:
        return {}
    q = (
        select(events.c.contact_id, _ts(func.min(events.c.occurred_at)))
        .join(contacts, contacts.c.id == events.c.contact_id)
        .join(LISTED, LISTED.c.id == contacts.c.id)
        .where(contacts.c.stage.in_(stages), events.c.two_way,
               events.c.occurred_at >= contacts.c.stage_entered_at)
        .group_by(events.c.contact_id)
    )
    return {cid: from_db(first) for cid, first in conn.execute(q).all()}


def _accounts(conn: Connection) -> list[AuditAccount]:
    """Accounts of listed contacts and of deals."""
    a = accounts.c
    used = select(contacts.c.account_id).join(LISTED, LISTED.c.id == contacts.c.id)
    q = (
        select(a.id, a.name, a.domain, a.owner, a.employees, a.industry, a.annual_revenue, a.country,
               _ts(a.churned_at))
        .where(or_(a.id.in_(used), a.id.in_(select(opportunities.c.account_id))))
        .order_by(a.id)
    )
    return [
        AuditAccount(
            key=str(i), name=name, domain=domain, owner=owner, employees=employees, industry=industry,
            annual_revenue=revenue, country=country, churned_at=from_db(churned),
        )
        for i, name, domain, owner, employees, industry, revenue, country, churned in conn.execute(q).all()
    ]


def _state(r: Any) -> DealState:
    if (r.signed_at is not None and r.booked_at is not None) or r.stage in WON_STAGES:
        return DealState.WON
    if r.lost_reason is not None or r.stage in LOST_STAGES:
        return DealState.LOST
    return DealState.OPEN


def _deals(conn: Connection, emails: dict[int, str]) -> list[AuditDeal]:
    roles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    oc = opportunity_contacts.c
    for oid, cid, role in conn.execute(
        select(oc.opportunity_id, oc.contact_id, oc.role).order_by(oc.opportunity_id, oc.contact_id)
    ).all():
        if cid in emails:
            roles[oid].append((emails[cid], role))
    o = opportunities.c
    names = ("expected_close", "signed_at", "booked_at", "created_at", "updated_at")
    dates = [_ts(o[k]).label(k) for k in names]
    q = select(
        o.id, o.external_id, o.name, o.account_id, o.stage, o.amount, o.lost_reason, o.owner, o.type, *dates
    ).order_by(o.id)
    return [
        AuditDeal(
            key=r.external_id, name=r.name, account=str(r.account_id), state=_state(r), stage=r.stage,
            amount=r.amount, expected_close=from_db(r.expected_close), signed_at=from_db(r.signed_at),
            booked_at=from_db(r.booked_at), owner=r.owner, type=r.type, created_at=from_db(r.created_at),
            stage_since=from_db(r.updated_at), contacts=tuple(roles.get(r.id, ())),
        )
        for r in conn.execute(q).all()
    ]


def _person(r: Any, checked: bool, ev: list[Evidence] | None, touch: datetime | None) -> AuditContact:
    (_, email, first, last, company, title, account_id, owner, source, stage, entered, created, fit, behavior,
     two_way, signals, trial, last_activity, _) = r
    score = fit + behavior if fit is not None and behavior is not None else None
    return AuditContact(
        key=email, email=email, label=stage, source_label=stage,
        name=" ".join(p for p in (first, last) if p), company=company,
        account=str(account_id) if account_id is not None else None, owner=owner,
        source=source, title=title, label_since=from_db(entered),
        created_at=from_db(created), last_activity_at=from_db(last_activity), first_touch_at=touch,
        fit=float(fit) if fit is not None else None if not checked else 0.0,
        score=float(score) if score is not None else None if not checked else 0.0,
        evidence=latest_evidence(ev or ()) if checked else None,
        two_way_count=int(two_way or 0), buying_signal_count=int(signals or 0),
        trial_usage_count=int(trial or 0),
    )


def read_audit_snapshot(
    conn: Connection, policy: Policy, now: datetime, *, complete: bool = False
) -> AuditSnapshot:
    """Everything the audit needs from the ledger, as of `now` (`complete`: list every contact)."""
    gated = gated_stages(policy)
    sla = tuple(s.name for s in policy.stages if s.sla_first_touch_hours is not None)
    _list_contacts(conn, policy, complete)
    rows = _contacts(conn, policy, now)
    ev = _evidence(conn, gated)
    touches = _first_touches(conn, sla)
    people = tuple(_person(r, r[-1] == 1 and r[9] in gated, ev.get(r[0]), touches.get(r[0])) for r in rows)
    return AuditSnapshot(
        source="ledger",
        contacts=people,
        accounts=tuple(_accounts(conn)),
        deals=tuple(_deals(conn, {r[0]: r[1] for r in rows})),
        unlisted=_unlisted(conn, Counter(r[9] for r in rows)),
    )
