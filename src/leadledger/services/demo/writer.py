"""Writing the simulated world through the bulk loader, in foreign-key order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from leadledger.services.demo.ledger import LedgerEntry
from leadledger.services.demo.world import World, to_text
from leadledger.store.bulk import bulk_insert, is_postgres

Progress = Callable[[str, int, int], None]
CHUNK = 20_000
# Tables whose ids the demo gives itself: PostgreSQL's sequences must be moved past them.
SERIAL_COLUMNS = (
    ("accounts", "id"), ("contacts", "id"), ("events", "seq"), ("evidence", "id"),
    ("opportunities", "id"), ("stage_changes", "id"),
)


def account_rows(world: World) -> Iterator[tuple[Any, ...]]:
    """accounts, in id order."""
    for a in world.accounts:
        yield (a.id, a.domain, a.name, a.industry, a.employees, a.revenue, a.country, ",".join(a.tech),
               a.owner, to_text(a.churned_at), to_text(a.created_at),
               to_text(max(a.created_at, a.churned_at or 0)))


def contact_rows(world: World) -> Iterator[tuple[Any, ...]]:
    """contacts, in id order; stage and owner are those of the last ledger entry."""
    for c in world.contacts:
        last = c.moves[-1]
        yield (c.id, c.email, c.first_name, c.last_name, c.company, c.title, c.seniority, c.role,
               c.account.id if c.account else None, last.owner, c.source, c.opted_out, last.to_stage,
               to_text(last.at), to_text(c.created_at), to_text(last.at))


def event_rows(world: World) -> list[tuple[Any, ...]]:
    """events in arrival order (ties by contact), numbered demo-0000001…"""
    flat = [(e, c.id) for c in world.contacts for e in c.events]  # contacts' events are sorted
    flat.sort(key=lambda r: r[0][0])  # stable: equal times keep contact order
    return [(n, f"demo-{n:07d}", cid, e[1], to_text(e[0]), e[2], e[3])
            for n, (e, cid) in enumerate(flat, 1)]


def evidence_rows(world: World) -> list[tuple[Any, ...]]:
    """evidence in confirmation order."""
    flat = sorted(((e.at, c.id, e.field, e) for c in world.contacts for e in c.evidence),
                  key=lambda r: (r[0], r[1], r[2]))
    return [(n, cid, e.field, e.value, e.confirmed_by, to_text(e.at))
            for n, (_, cid, _, e) in enumerate(flat, 1)]


def opportunity_rows(world: World) -> Iterator[tuple[Any, ...]]:
    """opportunities, in id order."""
    for o in world.opportunities:
        yield (o.id, o.external_id, o.account.id, o.name, o.type, o.stage, o.amount,
               to_text(o.expected_close), to_text(o.signed_at), to_text(o.booked_at), o.lost_reason,
               o.owner, to_text(o.created_at), to_text(max(o.updated_at, o.created_at)))


def role_rows(world: World) -> Iterator[tuple[Any, ...]]:
    """opportunity_contacts: each contact once per role per deal."""
    for o in world.opportunities:
        seen: dict[tuple[int, str], None] = {}
        for r in o.roles:
            if (r.contact.id, r.role) not in seen:
                seen[(r.contact.id, r.role)] = None
                yield (o.id, r.contact.id, r.role)


def stage_change_rows(entries: Sequence[LedgerEntry], policy_version: str) -> list[tuple[Any, ...]]:
    """The ledger in time order (append-only: ids grow with time)."""
    ordered = sorted(enumerate(entries), key=lambda p: (p[1].at, p[1].contact_id, p[0]))
    return [(n, e.contact_id, e.from_stage, e.to_stage, to_text(e.at), e.actor, e.reason, e.evidence,
             policy_version) for n, (_, e) in enumerate(ordered, 1)]


TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "domain", "name", "industry", "employees", "annual_revenue", "country",
                 "tech_stack", "owner", "churned_at", "created_at", "updated_at"),
    "contacts": ("id", "email", "first_name", "last_name", "company", "title", "seniority", "role",
                 "account_id", "owner", "source", "opted_out", "stage", "stage_entered_at",
                 "created_at", "updated_at"),
    "events": ("seq", "event_id", "contact_id", "type", "occurred_at", "two_way", "properties"),
    "evidence": ("id", "contact_id", "field", "value", "confirmed_by", "confirmed_at"),
    "opportunities": ("id", "external_id", "account_id", "name", "type", "stage", "amount",
                      "expected_close", "signed_at", "booked_at", "lost_reason", "owner", "created_at",
                      "updated_at"),
    "opportunity_contacts": ("opportunity_id", "contact_id", "role"),
    "stage_changes": ("id", "contact_id", "from_stage", "to_stage", "at", "actor", "reason", "evidence",
                      "policy_version"),
}


def write_table(
    conn: Connection, table: str, rows: Iterable[tuple[Any, ...]], progress: Progress | None
) -> int:
    """Bulk-insert `rows` in chunks, reporting progress per chunk."""
    data = list(rows)
    written = 0
    for start in range(0, len(data), CHUNK):
        written += bulk_insert(conn, table, TABLES[table], data[start:start + CHUNK])
        if progress:
            progress(f"writing {table}", written, len(data))
    if progress and not data:
        progress(f"writing {table}", 0, 0)
    return written


def write_world(
    conn: Connection, world: World, entries: Sequence[LedgerEntry], policy_version: str,
    progress: Progress | None,
) -> dict[str, int]:
    """Every table in foreign-key order; returns rows written per table."""
    tables: dict[str, Iterable[tuple[Any, ...]]] = {
        "accounts": account_rows(world),
        "contacts": contact_rows(world),
        "events": event_rows(world),
        "evidence": evidence_rows(world),
        "opportunities": opportunity_rows(world),
        "opportunity_contacts": role_rows(world),
        "stage_changes": stage_change_rows(entries, policy_version),
    }
    written = {name: write_table(conn, name, rows, progress) for name, rows in tables.items()}
    if is_postgres(conn):
        _advance_sequences(conn)
        for name in tables:  # fresh statistics: the aggregate rebuild right after runs ~2× faster
            conn.exec_driver_sql(f"ANALYZE {name}")
    return written


def _advance_sequences(conn: Connection) -> None:
    """Move each PostgreSQL serial past the ids the demo gave, so later inserts do not collide."""
    for table, column in SERIAL_COLUMNS:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"(SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false) "
            f"WHERE pg_get_serial_sequence('{table}', '{column}') IS NOT NULL"
        )
