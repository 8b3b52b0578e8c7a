"""Per-day funnel counts for a set of contacts, from the ledger: what the funnel summary adds up.

`journeys` materializes each contact's journey (creation, source, current and furthest stage, the
first reach of each main stage) in a temporary table, with the same definitions as
`store.reporting.funnel_counts`; the selects below group it by calendar day. A window, when
given, keeps only journeys created in it (cohorts), reaches in it (periods) and stays begun in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    case,
    column,
    func,
    literal,
    select,
    table,
    union_all,
)

from leadledger.store.bulk import create_temp_table, is_postgres
from leadledger.store.dialect import Dialect, Window, non_negative
from leadledger.store.schema import contacts, stage_changes

JOURNEY = "funnel_journey"
NONE = ""  # a missing source or furthest stage, as the summary's keys store it


def source_key(source: ColumnElement[Any]) -> ColumnElement[str]:
    """A contact's source as a key: "" for none, "=" + source otherwise (so "" stays distinct)."""
    return func.coalesce(literal("=", String) + source, literal(NONE, String))


def decode_source(key: str) -> str | None:
    """The source a key stands for."""
    return key[1:] if key else None


def journeys(conn: Connection, names: Sequence[str], ids: Select[Any] | None) -> Any:
    """Materialize the journeys of contacts `ids` (everyone if None); returns the temporary table.

    Besides each first reach r{k} it keeps the calendar keys the counts group by, computed once:
    the creation day, and per main stage the whole days to the first reach (d{k}) and its day (p{k}).
    """
    sql = Dialect(conn)
    stamp = "TIMESTAMP"
    cols = [("id", "INTEGER"), ("created_at", stamp), ("day", "TEXT"), ("source", "TEXT"), ("stage", "TEXT")]
    cols += [("furthest", "TEXT")]
    for k in range(len(names)):
        cols += [(f"r{k}", stamp), (f"d{k}", "INTEGER"), (f"p{k}", "TEXT")]
    create_temp_table(conn, JOURNEY, cols)
    sc = stage_changes
    # First entry into each main stage or a later one: skipped stages count as passed through,
    # re-entries and backward moves change nothing.
    reach = select(
        sc.c.contact_id,
        *[func.min(case((sc.c.to_stage.in_(names[k:]), sc.c.at))).label(f"r{k}") for k in range(len(names))],
    ).group_by(sc.c.contact_id)
    people = select(contacts.c.id, contacts.c.created_at, contacts.c.source, contacts.c.stage)
    if ids is not None:
        reach = reach.where(sc.c.contact_id.in_(ids))
        people = people.where(contacts.c.id.in_(ids))
    found = reach.subquery()
    who = people.subquery()
    r = [found.c[f"r{k}"] for k in range(len(names))]
    furthest = case(
        *[(r[k].is_not(None), literal(names[k], String)) for k in reversed(range(len(names)))],
        else_=literal(NONE, String),
    )
    per_stage = []
    for rk in r:
        per_stage += [rk, non_negative(sql.seconds(rk, who.c.created_at)) // 86400, sql.day(rk)]
    created = who.c.created_at
    rows = select(
        who.c.id, created, sql.day(created), source_key(who.c.source), who.c.stage, furthest, *per_stage
    ).select_from(who.outerjoin(found, found.c.contact_id == who.c.id))
    t = table(JOURNEY, *[column(c) for c, _ in cols])
    conn.execute(t.insert().from_select([c for c, _ in cols], rows))
    if is_postgres(conn):
        conn.exec_driver_sql(f"ANALYZE {JOURNEY}")
    return t


def journey_rows(conn: Connection, j: Any, window: Window) -> Select[Any]:
    """(creation day, source key, current stage, furthest stage key, contacts)."""
    sql = Dialect(conn)
    key = (j.c.day, j.c.source, j.c.stage, j.c.furthest)
    return select(*key, func.count()).where(sql.within(j.c.created_at, window)).group_by(*key)


def reach_rows(conn: Connection, j: Any, names: Sequence[str], window: Window) -> Select[Any]:
    """(creation day, stage, whole days to the first reach, contacts), for every main stage."""
    sql = Dialect(conn)
    parts = []
    for k, name in enumerate(names):
        days = j.c[f"d{k}"]
        parts.append(
            select(j.c.day, literal(name, String), days, func.count())
            .where(sql.within(j.c.created_at, window), j.c[f"r{k}"].is_not(None))
            .group_by(j.c.day, days)
        )
    return select(*union_all(*parts).subquery().c)


def period_rows(conn: Connection, j: Any, names: Sequence[str], window: Window) -> Select[Any]:
    """(day of the first reach, stage, contacts), for every main stage."""
    sql = Dialect(conn)
    parts = []
    for k, name in enumerate(names):
        day = j.c[f"p{k}"]
        parts.append(
            select(day, literal(name, String), func.count())
            .where(sql.within(j.c[f"r{k}"], window))
            .group_by(day)
        )
    return select(*union_all(*parts).subquery().c)


def stay_rows(conn: Connection, ids: Select[Any] | None, window: Window) -> Select[Any]:
    """(day the stay began, stage, hours bucket, stays): each ledger entry until the contact's next."""
    sql = Dialect(conn)
    sc = stage_changes
    nxt = func.lead(sc.c.at).over(partition_by=sc.c.contact_id, order_by=(sc.c.at, sc.c.id))
    entries = select(sc.c.to_stage, sc.c.at, nxt.label("next_at"))
    if ids is not None:
        entries = entries.where(sc.c.contact_id.in_(ids))
    stays = entries.subquery()
    secs = non_negative(sql.seconds(stays.c.next_at, stays.c.at))
    bucket = case((secs < 72 * 3600, secs // 3600), else_=secs // 86400 * 24)
    day = sql.day(stays.c.at)
    return (
        select(day, stays.c.to_stage, bucket.cast(Integer), func.count())
        .where(stays.c.next_at.is_not(None), sql.within(stays.c.at, window))
        .group_by(day, stays.c.to_stage, bucket)
    )
