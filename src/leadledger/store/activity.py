"""Per-contact activity aggregates: maintained incrementally, rebuilt when the half-life changes.

With λ = ln 2 / half-life and a fixed anchor t0, an event at t_i contributes
exp(λ·(t_i − t0)) to its type's `_w` column; the score as of `now` multiplies by
exp(−λ·(now − t0)). So a full rescore reads one row per contact, not every event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from leadledger.domain.records import TWO_WAY_BY_DEFAULT
from leadledger.store.bulk import is_postgres
from leadledger.store.db import from_db, to_db
from leadledger.store.schema import ACTIVITY_TYPES, meta

SECONDS_PER_DAY = 86_400.0


def get_meta(conn: Connection, key: str) -> str | None:
    """A value from the meta table."""
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Insert or replace a meta value."""
    conn.execute(meta.delete().where(meta.c.key == key))
    conn.execute(meta.insert().values(key=key, value=value))


def driver_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of one raw statement; on SQLite through the DB-API cursor of `conn` (same transaction).

    For the per-request statements of event ingest: SQLAlchemy's result set-up costs more than
    SQLite takes to answer them. `sql` uses `?` placeholders on SQLite, `%s` on PostgreSQL.
    """
    if is_postgres(conn):
        return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params))]
    cur = conn.connection.cursor()
    try:
        return cur.execute(sql, params).fetchall()  # type: ignore[no-any-return]
    finally:
        cur.close()


def decay_params(conn: Connection) -> tuple[datetime, float]:
    """The anchor time and half-life (days) the stored `_w` sums were built with."""
    # One statement, not two: every event request's transaction starts here.
    found: dict[str, str] = dict(driver_rows(
        conn, "SELECT key, value FROM meta WHERE key IN ('activity_anchor', 'activity_half_life_days')"))
    anchor = found.get("activity_anchor")
    half_life = found.get("activity_half_life_days")
    if anchor is None or half_life is None:
        raise RuntimeError("database not initialised: run `leadledger init`")
    ts = from_db(anchor)
    assert ts is not None
    return ts, float(half_life)


def rate(half_life_days: float) -> float:
    """λ per second."""
    return math.log(2) / (half_life_days * SECONDS_PER_DAY)


def now_factor(conn: Connection, now: datetime) -> tuple[float, float]:
    """(λ, exp(−λ·(now − anchor))): multiply a `_w` sum by the second to get today's decayed count."""
    anchor, half_life = decay_params(conn)
    lam = rate(half_life)
    return lam, math.exp(-lam * (now - anchor).total_seconds())


def _epoch_sql(conn: Connection, col: str) -> str:
    if is_postgres(conn):
        return f"extract(epoch from {col})"
    # julianday() keeps milliseconds only, which moves an event's weight by ~1e-9 of itself: whole
    # seconds from julianday (rounded: exact), the microseconds from the text ("YYYY-MM-DD HH:MM:SS.ffffff").
    return (f"(ROUND((julianday(substr({col}, 1, 19)) - 2440587.5) * 86400.0) "
            f"+ CAST(substr({col}, 20) AS REAL))")


AGGREGATE_COLUMNS: tuple[str, ...] = (
    "two_way_n", "last_activity_at", *(f"{t}_{k}" for t in ACTIVITY_TYPES for k in ("n", "w")),
)


def _upsert_sql(conn: Connection, select_sql: str, types: Sequence[str] = ACTIVITY_TYPES) -> str:
    """INSERT … SELECT (contact_id + AGGREGATE_COLUMNS) that adds to the stored aggregates.

    Only the columns of `types` are added to on conflict: the caller guarantees the others are 0.
    """
    greatest = "GREATEST" if is_postgres(conn) else "MAX"
    updates = [
        "two_way_n = contact_activity.two_way_n + excluded.two_way_n",
        f"last_activity_at = {greatest}(COALESCE(contact_activity.last_activity_at, "
        "excluded.last_activity_at), excluded.last_activity_at)",
        *(f"{t}_{k} = contact_activity.{t}_{k} + excluded.{t}_{k}" for t in ACTIVITY_TYPES if t in types
          for k in ("n", "w")),
    ]
    return (
        f"INSERT INTO contact_activity (contact_id, {', '.join(AGGREGATE_COLUMNS)}) {select_sql} "
        f"ON CONFLICT (contact_id) DO UPDATE SET {', '.join(updates)}"
    )


def _aggregate_sql(conn: Connection, source: str, weight_sql: str,
                   types: Sequence[str] = ACTIVITY_TYPES) -> str:
    """INSERT … SELECT that adds `source`'s events into contact_activity (upsert).

    `source` holds events of `types` only: the other types' columns are 0 for a new contact and
    left alone for an existing one (a batch of a few types no longer rewrites all 28 sums).
    """
    sels = ["SUM(CASE WHEN two_way THEN 1 ELSE 0 END)", "MAX(occurred_at)"]
    for t in ACTIVITY_TYPES:
        if t not in types:
            sels += ["0", "0"]
            continue
        sels += [
            f"SUM(CASE WHEN type = '{t}' THEN 1 ELSE 0 END)",
            f"COALESCE(SUM(CASE WHEN type = '{t}' THEN {weight_sql} END), 0)",
        ]
    # SQLite needs a WHERE in INSERT…SELECT…ON CONFLICT to parse the upsert clause.
    return _upsert_sql(
        conn, f"SELECT contact_id, {', '.join(sels)} FROM {source} WHERE true GROUP BY contact_id", types
    )


def add_aggregates(conn: Connection, table: str) -> None:
    """Add `table`'s per-contact sums (contact_id + AGGREGATE_COLUMNS, one row per contact)."""
    cols = ", ".join(AGGREGATE_COLUMNS)
    conn.exec_driver_sql(_upsert_sql(conn, f"SELECT contact_id, {cols} FROM {table} WHERE true"))


def add_staged_events(conn: Connection, staging: str, types: Iterable[str] | None = None) -> None:
    """Fold newly staged events (columns contact_id, type, occurred_at, two_way, w) into the aggregates.

    `types`: every event type present in `staging`, when the caller knows them (fewer columns to add).
    """
    present = ACTIVITY_TYPES if types is None else tuple(t for t in ACTIVITY_TYPES if t in set(types))
    conn.exec_driver_sql(_aggregate_sql(conn, staging, "w", present))


def add_event_rows(conn: Connection, rows: Iterable[tuple[int, str, str, bool, float]]) -> None:
    """SQLite: fold new events (contact_id, type, occurred_at text, two_way, w) into the aggregates.

    The same sums as `add_staged_events` (per contact: two-way count, latest time, per type count
    and Σw), grouped here rather than by SQL over a staging table — the API's writer has the rows in
    hand, and staging 5,000 rows only to group them cost more than the grouping. The upsert is
    multi-row (a few statements per 5,000 events) and adds only the columns of the types present.
    """
    sums: dict[int, list[Any]] = {}
    for contact_id, etype, occurred_at, two_way, w in rows:
        acc = sums.get(contact_id)
        if acc is None:
            acc = sums[contact_id] = [0, occurred_at, {}]
        if two_way:
            acc[0] += 1
        if occurred_at > acc[1]:  # ISO text from one formatter: text order is time order
            acc[1] = occurred_at
        per = acc[2].get(etype)
        if per is None:
            acc[2][etype] = [1, w]
        else:
            per[0] += 1
            per[1] += w
    if not sums:
        return
    types = tuple(t for t in ACTIVITY_TYPES if any(t in acc[2] for acc in sums.values()))
    one = "(?, ?, ?, " + ", ".join("?, ?" if t in types else "0, 0" for t in ACTIVITY_TYPES) + ")"
    width = 3 + 2 * len(types)
    params = []
    for contact_id, (two_way_n, last, per_type) in sums.items():
        row: list[Any] = [contact_id, two_way_n, last]
        for t in types:
            n_w = per_type.get(t)
            row += n_w if n_w is not None else (0, 0.0)
        params.append(row)
    per_statement = max(1, 30_000 // width)  # under SQLite's bound-variable limit
    for i in range(0, len(params), per_statement):
        chunk = params[i : i + per_statement]
        driver_rows(conn, _upsert_sql(conn, "VALUES " + ", ".join([one] * len(chunk)), types),
                    [v for r in chunk for v in r])


def rebuild(conn: Connection, half_life_days: float, anchor: datetime | None = None) -> None:
    """Recompute every aggregate from the raw events (after a half-life change)."""
    anchor = anchor or datetime(datetime.now(UTC).year, 1, 1, tzinfo=UTC)
    set_meta(conn, "activity_anchor", anchor.replace(tzinfo=None).isoformat(sep=" "))
    set_meta(conn, "activity_half_life_days", repr(half_life_days))
    lam = rate(half_life_days)
    a0 = anchor.timestamp()
    weight = f"exp({lam!r} * ({_epoch_sql(conn, 'occurred_at')} - {a0!r}))"
    conn.exec_driver_sql("DELETE FROM contact_activity")
    conn.exec_driver_sql(_aggregate_sql(conn, "events", weight))


def event_weight(occurred_at: datetime, anchor: datetime, half_life_days: float) -> float:
    """exp(λ·(t − anchor)) for one event (the importer computes the same, vectorised)."""
    return math.exp(rate(half_life_days) * (occurred_at - anchor).total_seconds())


def naive_weigher(anchor: datetime, half_life_days: float) -> Callable[[datetime], float]:
    """`event_weight` for naive-UTC times, λ computed once: the same float for the same instant
    (aware − aware and naive-UTC − naive-UTC give the same timedelta), a third of the cost."""
    lam = rate(half_life_days)
    a0 = to_db(anchor)
    assert a0 is not None
    exp = math.exp
    return lambda ts: exp(lam * (ts - a0).total_seconds())


def default_two_way(event_type: str) -> bool:
    """Whether an event type is a dialogue with a rep when the source does not say."""
    return event_type in TWO_WAY_BY_DEFAULT
