"""Fast bulk loading: DB-API executemany on SQLite, COPY on PostgreSQL.

SQLAlchemy Core executemany is about 5× slower for bulk loads (measured), so imports and the
demo go through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

CHUNK = 50_000


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
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in columns)})"
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.exec_driver_sql(sql, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
        n += len(batch)
    return n


def create_temp_table(conn: Connection, name: str, columns: Sequence[tuple[str, str]]) -> None:
    """A fresh temporary staging table with the given (name, SQL type) columns."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    cols = ", ".join(f"{c} {t}" for c, t in columns)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({cols})")
