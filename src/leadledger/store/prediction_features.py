"""Every contact's model features as of `now`, set-based: the columns `lead_row` builds one lead at a time.

`domain.predict.lead_features.lead_row` is the reference (training builds its rows with it); this
module must give the same values for every contact, which a test checks on both databases:

- fit fields: one query over contacts ⟕ accounts;
- per-type counts, decayed sums and two-way conversations: the `contact_activity` aggregates
  (decayed sum = stored Σ exp(λ·(t − anchor)) × exp(−λ·(now − anchor)));
- per-type and overall recency and the events of the last 14 days: one grouped query over
  `events` per chunk of contacts (no aggregate keeps them);
- events at or after `now` (only when scoring as of a past moment, or events stamped in the
  future): the aggregates include them, so those contacts' later events are read and taken out.

Times become integer microseconds since the epoch in SQL on both databases, so "days since" is
computed exactly as the reference computes it (whole microseconds / 10⁶ / 86,400).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from leadledger.domain.predict.features import FeatureKind
from leadledger.domain.predict.lead_features import FIT, RECENT_DAYS, lead_features
from leadledger.errors import LeadledgerError
from leadledger.store.activity import decay_params, rate
from leadledger.store.bulk import is_postgres
from leadledger.store.db import to_db
from leadledger.store.schema import ACTIVITY_TYPES

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

EVENT_TYPES: tuple[str, ...] = ACTIVITY_TYPES  # the types training builds features for
CHUNK = 50_000
SECONDS_PER_DAY = 86_400.0
TWO_WAY = "two-way conversations"
RECENT = f"events in the last {RECENT_DAYS} days"
SINCE_EVENT = "days since last event"
SINCE_CREATED = "days since created"


@dataclass(frozen=True, slots=True)
class FeatureBlock:
    """Features of a block of contacts: numbers (numeric and yes/no as 1/0, NaN = missing) and categories."""

    contact_ids: NDArray[np.int64]
    numbers: dict[str, NDArray[np.float64]]
    categories: dict[str, list[str | None]]

    def __len__(self) -> int:
        return len(self.contact_ids)


def _micros(conn: Connection, col: str) -> str:
    """SQL: a stored timestamp as whole microseconds since the epoch (NULL stays NULL)."""
    if is_postgres(conn):
        return f"CAST(extract(epoch from {col}) * 1000000 AS BIGINT)"
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS' with an optional '.ffffff' (6 digits when written by SQLAlchemy).
    return (f"(CAST(strftime('%s', {col}) AS INTEGER) * 1000000 + CASE WHEN length({col}) > 20 "
            f"THEN CAST(substr({col} || '000000', 21, 6) AS INTEGER) ELSE 0 END)")


def _before(conn: Connection, ts: datetime) -> Any:
    """Bound value for `column < ts` (and `>= ts`) that is exact for both of SQLite's stored text forms."""
    naive = to_db(ts)
    assert naive is not None
    # '…:29' < '…:29' is false and '…:29.000000' < '…:29' is false: equal times are never "before".
    return naive if is_postgres(conn) else naive.isoformat(sep=" ")


def _after(conn: Connection, ts: datetime) -> Any:
    """Bound value for `column > ts`, exact for both stored text forms."""
    naive = to_db(ts)
    assert naive is not None
    # '…:29' > '…:29.000000' is false, as is '…:29.000000' > '…:29.000000'.
    return naive if is_postgres(conn) else naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def epoch_micros(ts: datetime) -> int:
    """A datetime (aware, or naive UTC) as whole microseconds since the epoch."""
    naive = to_db(ts)
    assert naive is not None
    delta = naive - datetime(1970, 1, 1)  # noqa: DTZ001 — stored times are naive UTC
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def builds() -> tuple[str, ...]:
    """The feature names this module builds, in `lead_features` order."""
    return tuple(s.name for s in lead_features(EVENT_TYPES))


def applicable_ids(conn: Connection, now: datetime, reached_stages: Sequence[str]) -> NDArray[np.int64]:
    """Contacts the model applies to, ascending: not moved into `reached_stages` by `now` (ledger).

    The same rule as training, which leaves out leads that reached the outcome before their
    decision time. With no stages, every contact.
    """
    import numpy as np

    sql = "SELECT c.id FROM contacts c"
    params: dict[str, Any] = {}
    if reached_stages:
        names = ", ".join(_param(conn, f"s{i}") for i in range(len(reached_stages)))
        # Uncorrelated NOT IN: the reached set is built once (a correlated NOT EXISTS let SQLite probe
        # the to_stage index once per contact: minutes at 1M contacts).
        sql += (" WHERE c.id NOT IN (SELECT s.contact_id FROM stage_changes s "
                f"WHERE s.to_stage IN ({names}) AND s.at <= {_param(conn, 'at')})")
        params = {f"s{i}": s for i, s in enumerate(reached_stages)}
        params["at"] = _after(conn, now)  # '…:29' <= '…:29.000000': a reach at `now` counts
    sql += " ORDER BY c.id"
    rows = _fetch(conn, sql, params)
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def _param(conn: Connection, name: str) -> str:
    return f"%({name})s" if is_postgres(conn) else f":{name}"


def _fit_sql(conn: Connection, types: Sequence[str]) -> str:
    activity = ", ".join(f"ca.{t}_n, ca.{t}_w" for t in types)
    return (
        "SELECT c.id, a.industry, a.employees, a.annual_revenue, a.country, c.seniority, c.role, c.source, "
        f"c.opted_out, {_micros(conn, 'c.created_at')}, {_micros(conn, 'ca.last_activity_at')}, "
        f"ca.two_way_n, {activity} "
        "FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id "
        "LEFT JOIN contact_activity ca ON ca.contact_id = c.id "
        f"WHERE c.id BETWEEN {_param(conn, 'lo')} AND {_param(conn, 'hi')} ORDER BY c.id"
    )


def _events_sql(conn: Connection) -> str:
    # One row per (contact, type) of the events before `now`: the latest one and how many are recent.
    # Grouping by type costs one sort; one CASE per type in a per-contact group measured twice as slow.
    recent, lo, hi, now = (_param(conn, name) for name in ("recent", "lo", "hi", "now"))
    return (
        f"SELECT contact_id, type, {_micros(conn, 'latest')}, recent FROM ("
        f"SELECT contact_id, type, MAX(occurred_at) AS latest, "
        f"SUM(CASE WHEN occurred_at > {recent} THEN 1 ELSE 0 END) AS recent FROM events "
        f"WHERE contact_id BETWEEN {lo} AND {hi} AND occurred_at < {now} "
        "GROUP BY contact_id, type) g"
    )


def _events_json_sql() -> str:
    # SQLite: one row per contact, streamed in index order (no sort): its events' types and times as a
    # JSON object with duplicate keys, and the recent count. INDEXED BY makes SQLite walk the
    # (contact_id, occurred_at, …) index or fail: each key's last duplicate is then its latest time,
    # which `json.loads` keeps. SQLite's GROUP BY (contact, type) sorts every chunk's events instead
    # and measured 2.5× the CPU of this.
    return ("SELECT contact_id, json_group_object(type, occurred_at), "
            "SUM(CASE WHEN occurred_at > :recent THEN 1 ELSE 0 END) FROM events "
            "INDEXED BY ix_events_contact_id "
            "WHERE contact_id BETWEEN :lo AND :hi AND occurred_at < :now GROUP BY contact_id")


def _later_sql(conn: Connection, n: int) -> str:
    ids = ", ".join(_param(conn, f"c{i}") for i in range(n))
    return (f"SELECT contact_id, type, {_micros(conn, 'occurred_at')}, two_way FROM events "
            f"WHERE contact_id IN ({ids}) AND occurred_at >= {_param(conn, 'now')}")


def _fetch(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """Rows as plain tuples through the driver's cursor (SQLAlchemy's Row objects cost ~1 s per 100k)."""
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        cur.close()


Recency = tuple["NDArray[np.int64]", list[str], "NDArray[np.float64]", "NDArray[np.float64]"]


def _sql_recency(conn: Connection, sql: str, params: dict[str, Any]) -> Recency:
    """(contact, type) rows of the grouped events query as columns: ids, types, latest µs, recent count."""
    import numpy as np

    if conn.dialect.name == "sqlite":
        return _sqlite_recency(conn, params)
    rows = _fetch(conn, sql, params)
    return (np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows],
            np.array([r[2] for r in rows], dtype=float), np.array([r[3] for r in rows], dtype=float))


def _sqlite_recency(conn: Connection, params: dict[str, Any]) -> Recency:
    """The same columns from SQLite's per-contact JSON objects (the recent count on a contact's first row)."""
    import json

    import numpy as np

    cids: list[int] = []
    types: list[str] = []
    stamps: list[str] = []
    hits: list[int] = []
    for cid, objects, recent in _fetch(conn, _events_json_sql(), params):
        latest = json.loads(objects)  # the last of a duplicate key wins: in time order, the latest
        for i, (etype, at) in enumerate(latest.items()):
            cids.append(cid)
            types.append(etype)
            stamps.append(at)
            hits.append(recent if i == 0 else 0)
    # 'YYYY-MM-DD HH:MM:SS[.ffffff]' → whole µs since the epoch, as `_micros` computes in SQL.
    at_us = np.array(stamps, dtype="datetime64[us]").astype(np.int64).astype(float)
    return np.array(cids, dtype=np.int64), types, at_us, np.array(hits, dtype=float)


def feature_blocks(
    conn: Connection, ids: NDArray[np.int64], now: datetime, *, half_life_days: float,
    chunk: int = CHUNK, needed: Collection[str] | None = None, readers: Sequence[Connection] = (),
) -> Iterator[FeatureBlock]:
    """The features of contacts `ids` (ascending) as of `now`, `chunk` contacts at a time.

    `needed` limits the work to those features (the rest are absent from the block); the decay
    aggregates must have been built with `half_life_days` (the policy's, as training used).
    The grouped events query is most of the time (SQLite sorts each chunk's events by contact and
    type): with extra connections `readers` (same committed data), the next chunks' queries run
    ahead in background threads, one per reader; without, inline on `conn`.
    """
    import queue
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(len(readers)) if readers else None
    free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
    for reader in readers:
        free.put(reader)
    try:
        yield from _blocks(conn, ids, now, half_life_days=half_life_days, chunk=chunk, needed=needed,
                           free=free, pool=pool, ahead=len(readers))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _blocks(
    conn: Connection, ids: NDArray[np.int64], now: datetime, *, half_life_days: float, chunk: int,
    needed: Collection[str] | None, free: Any, pool: Any, ahead: int,
) -> Iterator[FeatureBlock]:
    import numpy as np

    anchor, stored_half_life = decay_params(conn)
    if stored_half_life != half_life_days:
        raise LeadledgerError(
            f"the activity sums use a {stored_half_life:g}-day half-life but the policy says "
            f"{half_life_days:g}: re-apply the policy (`leadledger policy apply`) to rebuild them")
    names = set(builds() if needed is None else needed)
    missing = names - set(builds())
    if missing:
        raise LeadledgerError(f"no set-based builder for feature(s) {', '.join(sorted(missing))}")
    lam = rate(half_life_days)
    factor = math.exp(-lam * (to_db(now) - to_db(anchor)).total_seconds())  # type: ignore[operator]
    anchor_us = epoch_micros(anchor)
    now_us = float(epoch_micros(now))
    type_index = {t: i for i, t in enumerate(EVENT_TYPES)}
    want_events = any(n.endswith(" days since last") for n in names) or bool({RECENT, SINCE_EVENT} & names)
    fit_sql, events_sql = _fit_sql(conn, EVENT_TYPES), _events_sql(conn)
    times = {"now": _before(conn, now), "recent": _after(conn, now - timedelta(days=RECENT_DAYS))}
    k = len(EVENT_TYPES)

    def days(us: NDArray[np.float64]) -> NDArray[np.float64]:
        return (now_us - us) / 1e6 / SECONDS_PER_DAY  # as timedelta.total_seconds() / 86,400

    bounds = [(int(ids[s]), int(ids[min(s + chunk, len(ids)) - 1])) for s in range(0, len(ids), chunk)]

    def on_a_reader(params: dict[str, Any]) -> Recency:
        reader = free.get()
        try:
            return _sql_recency(reader, events_sql, params)
        finally:
            free.put(reader)

    def recency(i: int) -> Any:
        lo, hi = bounds[i]
        params = {"lo": lo, "hi": hi, **times}
        return _sql_recency(conn, events_sql, params) if pool is None else pool.submit(on_a_reader, params)

    pending: dict[int, Any] = {}
    for number, start in enumerate(range(0, len(ids), chunk)):
        block = ids[start:start + chunk]
        lo, hi = bounds[number]
        if pool is not None and want_events:  # keep `ahead` chunks' events queries running
            for i in range(number, min(number + ahead + 1, len(bounds))):
                if i not in pending:
                    pending[i] = recency(i)
        rows = _fetch(conn, fit_sql, {"lo": lo, "hi": hi})
        all_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        keep = np.isin(all_ids, block)
        rows = [r for r, kept in zip(rows, keep.tolist(), strict=True) if kept]
        n = len(rows)
        cols = list(zip(*rows, strict=True)) if rows else [()] * (12 + 2 * k)

        def num(j: int, cols: list[tuple[Any, ...]] = cols) -> NDArray[np.float64]:
            return np.array(cols[j], dtype=float)  # None → NaN

        numbers: dict[str, NDArray[np.float64]] = {}
        categories: dict[str, list[str | None]] = {}
        for j, spec in enumerate(FIT, start=1):
            if spec.name not in names:
                continue
            if spec.kind is FeatureKind.categorical:
                categories[spec.name] = list(cols[j])
            elif spec.kind is FeatureKind.boolean:
                numbers[spec.name] = np.array([1.0 if v else 0.0 for v in cols[j]])
            else:
                numbers[spec.name] = num(j)
        created, last_any = num(9), num(10)
        two_way = np.nan_to_num(num(11))
        counts = np.nan_to_num(np.array(cols[12:12 + 2 * k:2], dtype=float).reshape(k, n))
        sums = np.nan_to_num(np.array(cols[13:13 + 2 * k:2], dtype=float).reshape(k, n))
        later = np.flatnonzero(last_any >= now_us)  # the aggregates hold events at or after `now`
        if len(later):
            taken = np.zeros((k, n))
            position = {int(block[r]): int(r) for r in later}
            for s in range(0, len(later), 500):
                part = [int(c) for c in block[later[s:s + 500]]]
                params = {**{f"c{i}": c for i, c in enumerate(part)}, "now": times["now"]}
                later_rows = conn.exec_driver_sql(_later_sql(conn, len(part)), params)
                for cid, etype, at_us, is_two_way in later_rows:
                    i = position[cid]
                    two_way[i] -= 1 if is_two_way else 0
                    if etype in type_index:
                        counts[type_index[etype], i] -= 1
                        taken[type_index[etype], i] += math.exp(lam * (at_us - anchor_us) / 1e6)
            sums -= taken
        decayed = np.where(counts > 0, sums * factor, 0.0)
        for t, i in type_index.items():
            for name, values in ((f"{t} count", counts[i]), (f"{t} decayed", decayed[i])):
                if name in names:
                    numbers[name] = values
        if TWO_WAY in names:
            numbers[TWO_WAY] = two_way
        if SINCE_CREATED in names:
            numbers[SINCE_CREATED] = np.where(created < now_us, days(created), np.nan)
        if want_events:
            last = np.full((k, n), np.nan)
            latest, recent = np.full(n, np.nan), np.zeros(n)
            cid, types, at, hits = pending.pop(number).result() if pool is not None else recency(number)
            if len(cid):
                row = np.searchsorted(block, cid)
                inside = (row < n) & (block[np.minimum(row, n - 1)] == cid)
                row, at, hits = row[inside], at[inside], hits[inside]
                kind = np.array([type_index.get(t, -1) for t in types])[inside]
                known = kind >= 0
                last[kind[known], row[known]] = at[known]
                np.fmax.at(latest, row, at)
                np.add.at(recent, row, hits)
            for t, i in type_index.items():
                if f"{t} days since last" in names:
                    numbers[f"{t} days since last"] = days(last[i])
            if SINCE_EVENT in names:
                numbers[SINCE_EVENT] = days(latest)
            if RECENT in names:
                numbers[RECENT] = recent
        yield FeatureBlock(contact_ids=block.copy(), numbers=numbers, categories=categories)
