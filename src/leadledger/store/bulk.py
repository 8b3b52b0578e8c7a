"""Fast bulk loading: DB-API executemany on SQLite, COPY on PostgreSQL.

SQLAlchemy Core executemany is about 5× slower for bulk loads (measured), so imports and the
demo go through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, islice
from typing import Any

from sqlalchemy import Connection

CHUNK = 50_000
# SQLite: many rows per INSERT statement halve the per-row cost of executemany (measured);
# the bound keeps a statement under SQLite's 32,766 bind-variable limit.
ROWS_PER_STATEMENT = 500
MAX_VARIABLES = 30_000


def is_postgres(conn: Connection) -> bool:
    """True on PostgreSQL, False on SQLite."""
    return conn.dialect.name == "postgresql"


def bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in `columns` order) into `table`; returns the number written."""
    cols = ", ".join(columns)
    n = 0
    if is_postgres(conn):
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    return sqlite_insert(conn, table, columns, rows)


def sqlite_insert(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                  *, on_conflict: str = "") -> int:
    """SQLite: insert `rows` with multi-row INSERTs (optionally `ON CONFLICT …`); returns rows sent."""
    width = len(columns)
    per = max(1, min(ROWS_PER_STATEMENT, MAX_VARIABLES // width))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ", ".join("?" * width) + ")"
    tail = f" {on_conflict}" if on_conflict else ""
    n = 0
    it = iter(rows)
    while batch := list(islice(it, CHUNK)):
        full = len(batch) // per * per
        if full:
            flat = list(chain.from_iterable(batch[:full]))
            step = per * width
            params = [tuple(flat[i:i + step]) for i in range(0, len(flat), step)]
            conn.exec_driver_sql(head + ", ".join([one] * per) + tail, params)
        if full < len(batch):
            conn.exec_driver_sql(head + one + tail, [tuple(r) for r in batch[full:]])
        n += len(batch)
    return n


def create_temp_table(conn: Connection, name: str, columns: Sequence[tuple[str, str]]) -> None:
    """A fresh temporary staging table with the given (name, SQL type) columns."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    cols = ", ".join(f"{c} {t}" for c, t in columns)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({cols})")
