"""Reading and writing domain records: one contact's full history, or facts for a batch."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from leadledger.domain.facts import ContactFacts, latest_evidence
from leadledger.domain.policy import Policy
from leadledger.domain.records import (
    Account,
    Contact,
    ContactRole,
    Event,
    Evidence,
    Opportunity,
    StageChange,
)
from leadledger.errors import NotFound
from leadledger.store.bulk import bulk_insert
from leadledger.store.db import from_db, to_db
from leadledger.store.funnel_summary import maintained
from leadledger.store.schema import (
    accounts,
    contact_activity,
    contacts,
    events,
    evidence,
    opportunities,
    opportunity_contacts,
    scores,
    stage_changes,
)

ID_CHUNK = 5_000


def _contact(r: Row[Any]) -> Contact:
    return Contact(
        id=r.id,
        email=r.email,
        first_name=r.first_name,
        last_name=r.last_name,
        company=r.company,
        title=r.title,
        seniority=r.seniority,
        role=r.role,
        account_id=r.account_id,
        owner=r.owner,
        source=r.source,
        opted_out=bool(r.opted_out),
        stage=r.stage,
        stage_entered_at=from_db(r.stage_entered_at),
        created_at=from_db(r.created_at),
    )


def account_from_row(r: Row[Any]) -> Account:
    """An `Account` from a row of the accounts table."""
    return Account(
        id=r.id,
        name=r.name,
        domain=r.domain,
        industry=r.industry,
        employees=r.employees,
        annual_revenue=r.annual_revenue,
        country=r.country,
        tech_stack=tuple(t for t in (r.tech_stack or "").split(",") if t),
        owner=r.owner,
        churned_at=from_db(r.churned_at),
    )


def contact_by_email(conn: Connection, email: str) -> Contact:
    """The contact with this email, or NotFound."""
    row = conn.execute(select(contacts).where(contacts.c.email == email.strip().lower())).first()
    if row is None:
        raise NotFound(f"no contact with email {email!r}")
    return _contact(row)


def account_by_id(conn: Connection, account_id: int | None) -> Account | None:
    """The account, if the contact has one."""
    if account_id is None:
        return None
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return account_from_row(row) if row else None


def events_for(conn: Connection, contact_id: int) -> list[Event]:
    """All events of one contact, oldest first."""
    rows = conn.execute(
        select(events).where(events.c.contact_id == contact_id).order_by(events.c.occurred_at)
    )
    return [
        Event(
            id=r.event_id,
            contact_id=r.contact_id,
            type=r.type,
            occurred_at=from_db(r.occurred_at) or r.occurred_at,
            two_way=bool(r.two_way),
        )
        for r in rows
    ]


def evidence_for(conn: Connection, contact_ids: Sequence[int]) -> list[Evidence]:
    """Evidence rows of these contacts, oldest first."""
    out: list[Evidence] = []
    for chunk in _chunks(contact_ids):
        rows = conn.execute(
            select(evidence).where(evidence.c.contact_id.in_(chunk)).order_by(evidence.c.confirmed_at)
        )
        out += [
            Evidence(
                contact_id=r.contact_id,
                field=r.field,
                value=r.value,
                confirmed_by=r.confirmed_by,
                confirmed_at=from_db(r.confirmed_at) or r.confirmed_at,
            )
            for r in rows
        ]
    return out


def opportunities_for(conn: Connection, account_ids: Iterable[int]) -> dict[int, list[Opportunity]]:
    """Opportunities (with committee roles) per account id."""
    ids = sorted(set(account_ids))
    by_account: dict[int, list[Opportunity]] = defaultdict(list)
    for chunk in _chunks(ids):
        opp_rows = conn.execute(
            select(opportunities).where(opportunities.c.account_id.in_(chunk)).order_by(opportunities.c.id)
        ).all()
        roles: dict[int, list[ContactRole]] = defaultdict(list)
        opp_ids = [r.id for r in opp_rows]
        for sub in _chunks(opp_ids):
            for rr in conn.execute(
                select(opportunity_contacts).where(opportunity_contacts.c.opportunity_id.in_(sub))
            ):
                roles[rr.opportunity_id].append(ContactRole(contact_id=rr.contact_id, role=rr.role))
        for r in opp_rows:
            by_account[r.account_id].append(opportunity_from_row(r, roles[r.id]))
    return by_account


def opportunity_from_row(r: Any, roles: Iterable[ContactRole]) -> Opportunity:
    """An `Opportunity` from a row of the opportunities table (or its mapping) and its committee roles."""
    m = r if isinstance(r, dict) else dict(zip(r._fields, r, strict=True))  # Row.attr costs ~1.5 µs
    return Opportunity(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        type=m["type"],
        stage=m["stage"],
        amount=m["amount"],
        expected_close=from_db(m["expected_close"]),
        signed_at=from_db(m["signed_at"]),
        booked_at=from_db(m["booked_at"]),
        lost_reason=m["lost_reason"],
        owner=m["owner"],
        roles=tuple(roles),
    )


def ledger_for(conn: Connection, contact_id: int) -> list[StageChange]:
    """The contact's stage-change history, oldest first."""
    rows = conn.execute(
        select(stage_changes)
        .where(stage_changes.c.contact_id == contact_id)
        .order_by(stage_changes.c.at, stage_changes.c.id)
    )
    return [
        StageChange(
            contact_id=r.contact_id,
            from_stage=r.from_stage,
            to_stage=r.to_stage,
            at=from_db(r.at) or r.at,
            actor=r.actor,
            reason=r.reason,
            evidence=json.loads(r.evidence),
            policy_version=r.policy_version,
        )
        for r in rows
    ]


def stored_score(conn: Connection, contact_id: int) -> Row[Any] | None:
    """The batch score row written by the last `leadledger score`."""
    return conn.execute(select(scores).where(scores.c.contact_id == contact_id)).first()


def record_stage_changes(conn: Connection, changes: Sequence[StageChange]) -> None:
    """Append ledger entries and set each contact's current stage (set-based)."""
    if not changes:
        return
    with maintained(conn, (c.contact_id for c in changes)):
        _append(conn, changes)


def _append(conn: Connection, changes: Sequence[StageChange]) -> None:
    bulk_insert(
        conn,
        "stage_changes",
        ("contact_id", "from_stage", "to_stage", "at", "actor", "reason", "evidence", "policy_version"),
        (
            (
                c.contact_id,
                c.from_stage,
                c.to_stage,
                _ts(c.at),
                c.actor,
                c.reason,
                json.dumps(c.evidence, sort_keys=True, default=str),
                c.policy_version,
            )
            for c in changes
        ),
    )
    stmt = (
        update(contacts)
        .where(contacts.c.id == bindparam("cid"))
        .values(stage=bindparam("stage"), stage_entered_at=bindparam("at"), updated_at=bindparam("at"))
    )
    conn.execute(stmt, [{"cid": c.contact_id, "stage": c.to_stage, "at": to_db(c.at)} for c in changes])


def record_evidence(conn: Connection, items: Sequence[Evidence]) -> None:
    """Store newly confirmed evidence."""
    if items:
        conn.execute(
            evidence.insert(),
            [
                {
                    "contact_id": e.contact_id,
                    "field": e.field,
                    "value": e.value,
                    "confirmed_by": e.confirmed_by,
                    "confirmed_at": to_db(e.confirmed_at),
                }
                for e in items
            ],
        )


def _ts(ts: Any) -> str:
    value = to_db(ts)
    return value.isoformat(sep=" ") if value is not None else ""


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), ID_CHUNK):
        yield ids[i : i + ID_CHUNK]


def batch_facts(
    conn: Connection, contact_ids: Sequence[int], policy: Policy, *, with_first_touch: bool = False
) -> list[ContactFacts]:
    """Facts for many contacts from aggregates (one query per table per chunk, no raw events)."""
    buying = list(policy.buying_signal_events)
    out: list[ContactFacts] = []
    for chunk in _chunks(contact_ids):
        crow = {r.id: r for r in conn.execute(select(contacts).where(contacts.c.id.in_(chunk)))}
        acc_ids = {r.account_id for r in crow.values() if r.account_id is not None}
        accs = {
            r.id: account_from_row(r)
            for sub in _chunks(sorted(acc_ids))
            for r in conn.execute(select(accounts).where(accounts.c.id.in_(sub)))
        }
        opps = opportunities_for(conn, acc_ids)
        sc = {r.contact_id: r for r in conn.execute(select(scores).where(scores.c.contact_id.in_(chunk)))}
        act = {
            r.contact_id: r
            for r in conn.execute(select(contact_activity).where(contact_activity.c.contact_id.in_(chunk)))
        }
        ev: dict[int, list[Evidence]] = defaultdict(list)
        for e in evidence_for(conn, chunk):
            ev[e.contact_id].append(e)
        touches = _first_touches(conn, chunk) if with_first_touch else {}
        for cid in chunk:
            r = crow.get(cid)
            if r is None:
                continue
            a = act.get(cid)
            s = sc.get(cid)
            out.append(
                ContactFacts(
                    contact=_contact(r),
                    account=accs.get(r.account_id) if r.account_id is not None else None,
                    fit=float(s.fit) if s else 0.0,
                    score=float(s.total) if s else 0.0,
                    evidence=latest_evidence(ev.get(cid, [])),
                    two_way_count=int(a.two_way_n) if a else 0,
                    buying_signal_count=sum(int(getattr(a, f"{t}_n")) for t in buying) if a else 0,
                    trial_usage_count=int(a.trial_usage_n) if a else 0,
                    opportunities=tuple(opps.get(r.account_id, ())) if r.account_id is not None else (),
                    last_activity_at=from_db(a.last_activity_at) if a else None,
                    first_touch_at=touches.get(cid),
                )
            )
    return out


def _first_touches(conn: Connection, chunk: list[int]) -> dict[int, Any]:
    """First two-way event at or after each contact's current stage entry."""
    q = (
        select(events.c.contact_id, func.min(events.c.occurred_at).label("first"))
        .join(contacts, contacts.c.id == events.c.contact_id)
        .where(
            events.c.contact_id.in_(chunk),
            events.c.two_way,
            events.c.occurred_at >= contacts.c.stage_entered_at,
        )
        .group_by(events.c.contact_id)
    )
    return {r.contact_id: from_db(r.first) for r in conn.execute(q)}
