"""What every kind's loader shares: the import context, chunk results and SQL helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import polars as pl
from sqlalchemy import Connection, text

from leadledger.domain.policy import Policy
from leadledger.services.importing.mapping import ColumnPlan
from leadledger.services.importing.validate import LINE, REJECT_SCHEMA, Check
from leadledger.store.bulk import bulk_insert, create_temp_table, is_postgres


@dataclass(slots=True)
class Context:
    """One import run: the connection (inside the import's transaction), policy and clock."""

    conn: Connection
    policy: Policy
    now: datetime  # naive UTC
    file_name: str
    plan: ColumnPlan
    size_bytes: int = 0

    @property
    def pg(self) -> bool:
        """True on PostgreSQL."""
        return is_postgres(self.conn)

    def ts(self, value: datetime) -> datetime | str:
        """A datetime bind parameter: text on SQLite (as the bulk path stores it), native on PostgreSQL."""
        return value if self.pg else value.strftime("%Y-%m-%d %H:%M:%S")

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Execute one statement; returns the affected row count."""
        return int(self.conn.execute(text(sql), dict(params or {})).rowcount)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Execute a query; returns all rows."""
        return list(self.conn.execute(text(sql), dict(params or {})))


@dataclass(slots=True)
class ChunkResult:
    """What loading one chunk did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_SCHEMA))


@dataclass(frozen=True, slots=True)
class Col:
    """A staged column that may update the stored row (blank cells never erase stored values)."""

    name: str
    is_datetime: bool = False


class Loader:
    """Base for one kind's loader: Polars checks and derived columns, then set-based SQL."""

    kind: ClassVar[str]
    staging: ClassVar[str]
    staging_columns: ClassVar[Sequence[tuple[str, str]]]

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.warnings: list[str] = []
        create_temp_table(ctx.conn, self.staging, self.staging_columns)

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """Kind-specific row checks (after the generic ones); `df` is the parsed chunk."""
        return []

    def derive(self, df: pl.DataFrame) -> pl.DataFrame:
        """Columns computed from valid rows before staging."""
        return df

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Write one chunk of valid, de-duplicated rows."""
        raise NotImplementedError

    def finish(self) -> None:
        """Drop the staging tables; add end-of-import warnings."""
        self.ctx.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.staging}")

    def stage(self, df: pl.DataFrame, table: str | None = None,
              columns: Sequence[str] | None = None) -> None:
        """Bulk-load `df`'s `columns` into an (emptied) staging table."""
        table = table or self.staging
        if df.is_empty():
            self.ctx.conn.exec_driver_sql(f"DELETE FROM {table}")
            return
        # All-empty columns stay NULL without being sent: binding values is the slow part.
        cols = list(columns or [
            c for c, _ in self.staging_columns
            if c == "line" or (c in df.columns and df[c].null_count() < df.height)
        ])
        exprs = [pl.col(LINE).alias("line") if c == "line" else pl.col(c) for c in cols]
        self.ctx.conn.exec_driver_sql(f"DELETE FROM {table}")
        bulk_insert(self.ctx.conn, table, cols, df.select(exprs).rows())
        if self.ctx.pg:
            self.ctx.conn.exec_driver_sql(f"ANALYZE {table}")  # temp tables get no autovacuum stats

    # -- SQL builders --------------------------------------------------------------------------

    def differs(self, cols: Sequence[Col], s: str, t: str) -> str:
        """SQL: some staged value is present and differs from the stored one."""
        return "(" + " OR ".join(
            f"({s}.{c.name} IS NOT NULL AND {self.ne(f'{s}.{c.name}', f'{t}.{c.name}', c)})"
            for c in cols
        ) + ")"

    def ne(self, a: str, b: str, col: Col) -> str:
        """Null-safe inequality; SQLite datetimes compare as values, whatever their text form."""
        if self.ctx.pg:
            return f"{a} IS DISTINCT FROM {b}"
        if col.is_datetime:
            return f"datetime({a}) IS NOT datetime({b})"
        return f"{a} IS NOT {b}"

    def update_existing(self, table: str, cols: Sequence[Col], *, extra_where: str = "",
                        touch: bool = True) -> int:
        """UPDATE stored rows (matched by the staged existing_id) whose values changed."""
        sets = [f"{c.name} = COALESCE(s.{c.name}, {table}.{c.name})" for c in cols]
        if touch:
            sets.append("updated_at = :now")
        changed = self.differs(cols, "s", table)
        if extra_where:
            changed = f"({changed} OR {extra_where})"
        sql = (
            f"UPDATE {table} SET {', '.join(sets)} FROM {self.staging} AS s "
            f"WHERE {table}.id = s.existing_id AND {changed}"
        )
        return self.ctx.run(sql, {"now": self.ctx.ts(self.ctx.now)} if touch else None)

    def email_domain_sql(self, email: str) -> str:
        """SQL for the part of an address after the '@'."""
        if self.ctx.pg:
            return f"split_part({email}, '@', 2)"
        return f"substr({email}, instr({email}, '@') + 1)"

    def json_object_sql(self, pairs: Sequence[tuple[str, str]]) -> str:
        """SQL building a JSON object (as text) from (key, SQL expression) pairs, keys in order."""
        args = ", ".join(f"'{k}', {v}" for k, v in pairs)
        return f"json_build_object({args})::text" if self.ctx.pg else f"json_object({args})"

    def lookup(self, target: str, value: str, source: str, on: str, *,
               where: str = "true", table: str | None = None) -> None:
        """Set the staged rows' `target` to `value` from the `source` row matching `on`.

        SQLite gets a correlated subquery (an index probe per row); PostgreSQL an UPDATE … FROM
        that its planner may turn into a hash join.
        """
        table = table or self.staging
        if self.ctx.pg:
            self.ctx.run(f"UPDATE {table} SET {target} = {value} FROM {source} WHERE {on} AND {where}")
        else:
            self.ctx.run(
                f"UPDATE {table} SET {target} = (SELECT {value} FROM {source} WHERE {on}) WHERE {where}"
            )
