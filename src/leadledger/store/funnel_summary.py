"""The funnel summary: the funnel's counts per calendar day, kept in step with the ledger.

Grouping two million ledger entries on every `leadledger funnel` costs tens of seconds at a million
contacts. The summary tables hold the same counts `store.reporting` computes from the ledger, per
UTC day: journeys and days-to-reach by creation day, first reaches by reach day, completed stays by
start day. They are the sum of every contact's contribution, so a write that touches some contacts
subtracts their contributions first and adds them back after (`Maintenance`, used by
`record_stage_changes` and the contact import). A report reads a window's whole days from the
summary and its partial first and last days from the ledger (`funnel_reads`).

The summary records the main stages it counts under and the highest contact and ledger ids it has
seen. A write that went around it, or a policy with other main stages, leaves it stale: reports
then read the ledger until `rebuild` (run by `leadledger init`, `policy apply` and the demo).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Select, column, delete, func, select, table, true
from sqlalchemy.dialects import postgresql, sqlite

from leadledger.domain.policy import Policy
from leadledger.store import funnel_sql
from leadledger.store.activity import get_meta, set_meta
from leadledger.store.bulk import bulk_insert, create_temp_table, is_postgres
from leadledger.store.dialect import Window
from leadledger.store.schema import (
    contacts,
    funnel_journeys,
    funnel_periods,
    funnel_reaches,
    funnel_stays,
    meta,
    stage_changes,
)

STATE_KEY = "funnel_summary"
TOUCHED = table("funnel_touched", column("id"))
NO_WINDOW: Window = (None, None)


def main_stages(policy: Policy) -> list[str]:
    """The main stage names the summary counts under, in order."""
    return [s.name for s in policy.main_stages]


def _high_water(conn: Connection) -> dict[str, int]:
    return {
        "contacts": conn.execute(select(func.coalesce(func.max(contacts.c.id), 0))).scalar_one(),
        "ledger": conn.execute(select(func.coalesce(func.max(stage_changes.c.id), 0))).scalar_one(),
    }


def _state(conn: Connection) -> dict[str, Any] | None:
    raw = get_meta(conn, STATE_KEY)
    return json.loads(raw) if raw else None


def _save(conn: Connection, stages: Sequence[str]) -> None:
    set_meta(conn, STATE_KEY, json.dumps({"stages": list(stages), **_high_water(conn)}))


def fresh_stages(conn: Connection) -> list[str] | None:
    """The main stages of an up-to-date summary, or None if it is missing or stale."""
    state = _state(conn)
    if state is None or {k: state.get(k) for k in ("contacts", "ledger")} != _high_water(conn):
        return None
    return list(state["stages"])


def is_fresh(conn: Connection, policy: Policy) -> bool:
    """Whether the summary counts every contact and ledger entry under `policy`'s main stages."""
    return fresh_stages(conn) == main_stages(policy)


def _upsert(
    conn: Connection, target: Any, keys: Sequence[str], value: str, rows: Select[Any], sign: int
) -> None:
    """Add `sign` × the counted `rows` (keys…, count) into `target`; drop rows that reach zero."""
    src = rows.subquery()
    # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT, or it reads ON as a join's.
    counted = select(*src.c[: len(keys)], src.c[len(keys)] * sign).where(true())
    make = postgresql.insert if is_postgres(conn) else sqlite.insert
    ins = make(target).from_select([*keys, value], counted)
    added = {value: target.c[value] + ins.excluded[value]}
    conn.execute(ins.on_conflict_do_update(index_elements=list(keys), set_=added))
    conn.execute(delete(target).where(target.c[value] == 0))


def _apply(conn: Connection, stages: Sequence[str], ids: Select[Any] | None, sign: int) -> None:
    """Add (+1) or subtract (-1) the contributions of contacts `ids` (everyone if None)."""
    j = funnel_sql.journeys(conn, stages, ids)
    _upsert(conn, funnel_journeys, ("day", "source", "stage", "furthest"), "contacts",
            funnel_sql.journey_rows(conn, j, NO_WINDOW), sign)
    _upsert(conn, funnel_reaches, ("day", "stage", "days"), "contacts",
            funnel_sql.reach_rows(conn, j, stages, NO_WINDOW), sign)
    _upsert(conn, funnel_periods, ("day", "stage"), "contacts",
            funnel_sql.period_rows(conn, j, stages, NO_WINDOW), sign)
    _upsert(conn, funnel_stays, ("day", "stage", "hours"), "stays",
            funnel_sql.stay_rows(conn, ids, NO_WINDOW), sign)


def rebuild(conn: Connection, policy: Policy) -> None:
    """Count the summary afresh from the ledger under `policy`'s main stages."""
    for t in (funnel_journeys, funnel_reaches, funnel_periods, funnel_stays):
        conn.execute(delete(t))
    stages = main_stages(policy)
    _apply(conn, stages, None, 1)
    _save(conn, stages)


def drop(conn: Connection) -> None:
    """Mark the summary stale (the reports read the ledger until the next rebuild)."""
    conn.execute(delete(meta).where(meta.c.key == STATE_KEY))


class Maintenance:
    """One write's upkeep: subtract the touched contacts' contributions before it, add them after."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.stages = fresh_stages(conn)
        if self.stages is None and _state(conn) is not None:
            drop(conn)  # something wrote around the summary: it cannot be patched any more

    def remove(self, ids: Select[Any]) -> None:
        """Before the write: take out what these contacts contribute now."""
        if self.stages is not None:
            _apply(self.conn, self.stages, ids, -1)

    def add(self, ids: Select[Any]) -> None:
        """After the write: put back what these contacts contribute now."""
        if self.stages is not None:
            _apply(self.conn, self.stages, ids, 1)

    def finish(self) -> None:
        """Record that the summary has seen every contact and ledger entry written so far."""
        if self.stages is not None:
            _save(self.conn, self.stages)


@contextmanager
def maintained(conn: Connection, contact_ids: Iterable[int]) -> Iterator[None]:
    """Keep the summary in step with a write that changes these contacts' ledger or stage."""
    upkeep = Maintenance(conn)
    if upkeep.stages is None:
        yield
        return
    create_temp_table(conn, "funnel_touched", [("id", "INTEGER PRIMARY KEY")])
    bulk_insert(conn, "funnel_touched", ("id",), ((i,) for i in sorted(set(contact_ids))))
    ids = select(TOUCHED.c.id)
    upkeep.remove(ids)
    yield
    upkeep.add(ids)
    upkeep.finish()
