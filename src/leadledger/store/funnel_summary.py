"""The funnel summary: the funnel's counts per calendar day, kept in step with the ledger.

Grouping two million ledger entries on every `leadledger funnel` costs tens of seconds at a million
contacts. The summary tables hold the same counts `store.reporting` computes from the ledger, per
UTC day: journeys and days-to-reach by creation day, first reaches by reach day, completed stays by
start day; and the same counts per UTC month (`*_monthly`), each month row the sum of its month's
day rows. They are the sum of every contact's contribution, so a write that touches some contacts
subtracts their contributions first and adds them back after (`Maintenance`, used by
`record_stage_changes` and the contact import), by day and by month alike. A report reads a
window's whole months from the month rows, its other whole days from the day rows and its partial
first and last days from the ledger (`funnel_reads`).

The summary records the main stages it counts under and the highest contact and ledger ids it has
seen. A write that went around it, or a policy with other main stages, leaves it stale: reports
then read the ledger until `rebuild` (run by `leadledger init`, `policy apply` and the demo).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, Select, Table, column, delete, func, select, table, true
from sqlalchemy.dialects import postgresql, sqlite

from leadledger.domain.policy import Policy
from leadledger.store import funnel_sql
from leadledger.store.activity import get_meta, set_meta
from leadledger.store.bulk import bulk_insert, create_temp_table, is_postgres
from leadledger.store.dialect import Dialect, Window
from leadledger.store.schema import (
    contacts,
    funnel_journeys,
    funnel_journeys_monthly,
    funnel_periods,
    funnel_periods_monthly,
    funnel_reaches,
    funnel_reaches_monthly,
    funnel_stays,
    funnel_stays_monthly,
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


@dataclass(frozen=True, slots=True)
class Kept:
    """One count the summary keeps per day and per month: the two tables, their keys, the count."""

    by_day: Table
    by_month: Table
    keys: tuple[str, ...]  # after the day (or month)
    value: str


JOURNEYS = Kept(funnel_journeys, funnel_journeys_monthly, ("source", "stage", "furthest"), "contacts")
REACHES = Kept(funnel_reaches, funnel_reaches_monthly, ("stage", "days"), "contacts")
PERIODS = Kept(funnel_periods, funnel_periods_monthly, ("stage",), "contacts")
STAYS = Kept(funnel_stays, funnel_stays_monthly, ("stage", "hours"), "stays")
KEPT = (JOURNEYS, REACHES, PERIODS, STAYS)

DELTA = "funnel_delta"


def _upsert_into(
    conn: Connection, target: Table, keys: Sequence[str], value: str, rows: Select[Any] | list[dict[str, Any]]
) -> None:
    """Add the rows (keys…, count: a select, or parameter dicts) into `target`."""
    make = postgresql.insert if is_postgres(conn) else sqlite.insert
    if isinstance(rows, list):
        ins = make(target)
        conn.execute(ins.on_conflict_do_update(
            index_elements=list(keys), set_={value: target.c[value] + ins.excluded[value]}), rows)
    else:
        # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT, or it reads ON as a join's.
        ins = make(target).from_select([*keys, value], rows.where(true()))
        added = {value: target.c[value] + ins.excluded[value]}
        conn.execute(ins.on_conflict_do_update(index_elements=list(keys), set_=added))


def _upsert(conn: Connection, kept: Kept, rows: Select[Any], sign: int) -> None:
    """Add `sign` × the counted rows (day, keys…, count) by day and by month, then drop zeros.

    The delta is counted once, into a temporary table, and added from there to the day rows and,
    summed per month, to the month rows, so each month row stays the sum of its day rows.
    """
    day_keys, month_keys = ("day", *kept.keys), ("month", *kept.keys)
    types = [(k, "INTEGER" if isinstance(kept.by_day.c[k].type, Integer) else "TEXT") for k in day_keys]
    create_temp_table(conn, DELTA, [*types, ("n", "INTEGER")])
    delta = table(DELTA, *[column(k) for k in (*day_keys, "n")])
    src = rows.subquery()
    signed = select(*src.c[: len(day_keys)], src.c[len(day_keys)] * sign)
    conn.execute(delta.insert().from_select([*day_keys, "n"], signed))
    d = delta.c
    month = [func.substr(d.day, 1, 7), *[d[k] for k in kept.keys]]
    _upsert_into(conn, kept.by_day, day_keys, kept.value, select(*[d[k] for k in day_keys], d.n))
    _upsert_into(conn, kept.by_month, month_keys, kept.value, select(*month, func.sum(d.n)).group_by(*month))
    for target in (kept.by_day, kept.by_month):
        conn.execute(delete(target).where(target.c[kept.value] == 0))


def _add(conn: Connection, kept: Kept, rows: Counter[Any]) -> None:
    """Add counts by key (day, keys…) to the day rows and, summed per month, to the month rows.

    The counts are positive, so no row comes to zero.
    """
    months: Counter[Any] = Counter()
    for key, n in rows.items():
        months[(key[0][:7], *key[1:])] += n
    for target, keys, counted in ((kept.by_day, ("day", *kept.keys), rows),
                                  (kept.by_month, ("month", *kept.keys), months)):
        if counted:
            params = [{**dict(zip(keys, k, strict=True)), kept.value: n} for k, n in counted.items()]
            _upsert_into(conn, target, keys, kept.value, params)


def _apply(conn: Connection, stages: Sequence[str], ids: Select[Any] | None, sign: int) -> None:
    """Add (+1) or subtract (-1) the contributions of contacts `ids` (everyone if None)."""
    j = funnel_sql.journeys(conn, stages, ids)
    _upsert(conn, JOURNEYS, funnel_sql.journey_rows(conn, j, NO_WINDOW), sign)
    _upsert(conn, REACHES, funnel_sql.reach_rows(conn, j, stages, NO_WINDOW), sign)
    _upsert(conn, PERIODS, funnel_sql.period_rows(conn, j, stages, NO_WINDOW), sign)
    _upsert(conn, STAYS, funnel_sql.stay_rows(conn, ids, NO_WINDOW), sign)


def rebuild(conn: Connection, policy: Policy) -> None:
    """Count the summary afresh from the ledger under `policy`'s main stages."""
    for kept in KEPT:
        conn.execute(delete(kept.by_day))
        conn.execute(delete(kept.by_month))
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
            _apply(self.conn, self.stages, _touched(self.conn, ids), -1)

    def add(self, ids: Select[Any]) -> None:
        """After the write: put back what these contacts contribute now."""
        if self.stages is not None:
            _apply(self.conn, self.stages, _touched(self.conn, ids), 1)

    def add_created(self, ids: Select[Any]) -> None:
        """After creating contacts `ids`, each with one ledger entry into its stage at its creation.

        Such a contact has reached its stage (and every main stage before it) on its creation day,
        0 days after it, and has no completed stay: one grouped read, no ledger entries to scan.
        """
        if self.stages is None:
            return
        stages = self.stages
        sql = Dialect(self.conn)
        c = contacts.c
        day = sql.day(c.created_at)
        key = (day, funnel_sql.source_key(c.source), c.stage)
        journeys: Counter[tuple[str, str, str, str]] = Counter()
        reaches: Counter[tuple[str, str, int]] = Counter()
        periods: Counter[tuple[str, str]] = Counter()
        rows = self.conn.execute(select(*key, func.count()).where(c.id.in_(ids)).group_by(*key)).all()
        for on, source, stage, n in rows:
            reached = stages[: stages.index(stage) + 1] if stage in stages else []
            journeys[on, source, stage, reached[-1] if reached else funnel_sql.NONE] += n
            for name in reached:
                reaches[on, name, 0] += n
                periods[on, name] += n
        _add(self.conn, JOURNEYS, journeys)
        _add(self.conn, REACHES, reaches)
        _add(self.conn, PERIODS, periods)

    def finish(self) -> None:
        """Record that the summary has seen every contact and ledger entry written so far."""
        if self.stages is not None:
            _save(self.conn, self.stages)


def _touched(conn: Connection, ids: Select[Any] | Iterable[int]) -> Select[Any]:
    """The ids in a temporary table with a key (looked up several times per upkeep)."""
    create_temp_table(conn, "funnel_touched", [("id", "INTEGER PRIMARY KEY")])
    if isinstance(ids, Select):
        conn.execute(TOUCHED.insert().from_select(["id"], select(ids.subquery().c[0]).distinct()))
    else:
        bulk_insert(conn, "funnel_touched", ("id",), ((i,) for i in sorted(set(ids))))
    return select(TOUCHED.c.id)


@contextmanager
def maintained(conn: Connection, contact_ids: Iterable[int]) -> Iterator[None]:
    """Keep the summary in step with a write that changes these contacts' ledger or stage."""
    upkeep = Maintenance(conn)
    if upkeep.stages is None:
        yield
        return
    ids = _touched(conn, contact_ids)
    _apply(conn, upkeep.stages, ids, -1)
    yield
    _apply(conn, upkeep.stages, ids, 1)
    upkeep.finish()
