"""Reads for training from the ledger: leads with their accounts, first outcome reaches, events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from leadledger.domain.records import Account, Contact, Event
from leadledger.store.db import from_db, to_db
from leadledger.store.records import account_from_row
from leadledger.store.schema import accounts, contacts, events, stage_changes

ID_CHUNK = 5_000


def _lead(r: Row[Any]) -> Contact:
    """The contact fields a training row reads (fit fields and creation time)."""
    return Contact(
        id=r.id, email=r.email, seniority=r.seniority, role=r.role, account_id=r.account_id,
        source=r.source, opted_out=bool(r.opted_out), stage=r.stage, created_at=from_db(r.created_at),
    )


def leads_created_by(conn: Connection, latest: datetime) -> list[Contact]:
    """Contacts created at or before `latest`, oldest first."""
    rows = conn.execute(
        select(contacts).where(contacts.c.created_at <= to_db(latest))
        .order_by(contacts.c.created_at, contacts.c.id)
    )
    return [_lead(r) for r in rows]


def accounts_by_id(conn: Connection, ids: set[int]) -> dict[int, Account]:
    """The accounts with these ids."""
    found: dict[int, Account] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), ID_CHUNK):
        rows = conn.execute(select(accounts).where(accounts.c.id.in_(ordered[i: i + ID_CHUNK])))
        found.update({r.id: account_from_row(r) for r in rows})
    return found


def first_reaches(conn: Connection, stages: Sequence[str]) -> dict[int, datetime]:
    """Per contact, the first time the ledger moved it into any of `stages`."""
    rows = conn.execute(
        select(stage_changes.c.contact_id, func.min(stage_changes.c.at))
        .where(stage_changes.c.to_stage.in_(list(stages)))
        .group_by(stage_changes.c.contact_id)
    )
    return {cid: at for cid, raw in rows if (at := from_db(raw)) is not None}


def events_before(
    conn: Connection, contact_ids: Sequence[int], until: datetime
) -> Iterator[tuple[list[int], dict[int, list[Event]]]]:
    """Chunks of (contact ids, their events before `until`)."""
    for i in range(0, len(contact_ids), ID_CHUNK):
        chunk = list(contact_ids[i: i + ID_CHUNK])
        rows = conn.execute(
            select(events.c.event_id, events.c.contact_id, events.c.type, events.c.occurred_at,
                   events.c.two_way)
            .where(events.c.contact_id.in_(chunk), events.c.occurred_at < to_db(until))
        )
        by_contact: dict[int, list[Event]] = defaultdict(list)
        for r in rows:
            at = from_db(r.occurred_at)
            if at is not None:
                by_contact[r.contact_id].append(
                    Event(id=r.event_id, contact_id=r.contact_id, type=r.type, occurred_at=at,
                          two_way=bool(r.two_way)))
        yield chunk, by_contact


def first_two_way(conn: Connection) -> dict[int, datetime]:
    """Per contact, its first two-way event (a conversation with the team: sales contact)."""
    rows = conn.execute(
        select(events.c.contact_id, func.min(events.c.occurred_at))
        .where(events.c.two_way.is_(True)).group_by(events.c.contact_id)
    )
    return {cid: at for cid, raw in rows if (at := from_db(raw)) is not None}
