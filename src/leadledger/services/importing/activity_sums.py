"""Per-contact activity sums of newly imported events, summed in Polars and written once.

Folding each chunk into `contact_activity` in SQL means a wide GROUP BY and an upsert per chunk;
summing in memory and upserting once per import writes each contact's row once.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from leadledger.store import activity
from leadledger.store.bulk import bulk_insert, create_temp_table
from leadledger.store.schema import ACTIVITY_TYPES

TYPES = ACTIVITY_TYPES
STAGING = "import_activity_sums"
# Re-sum the pending partial sums once they outgrow this many rows (bounds memory).
COMPACT_ROWS = 1_000_000


def per_contact(events: pl.DataFrame) -> pl.DataFrame:
    """One row per contact: contact_id + activity.AGGREGATE_COLUMNS, from events with a weight `w`."""
    is_type = {t: pl.col("type") == t for t in TYPES}
    return events.group_by("contact_id").agg(
        pl.col("two_way").cast(pl.Int64).sum().alias("two_way_n"),
        pl.col("occurred_at").max().alias("last_activity_at"),
        *(
            expr
            for t in TYPES
            for expr in (
                is_type[t].cast(pl.Int64).sum().alias(f"{t}_n"),
                pl.when(is_type[t]).then(pl.col("w")).otherwise(0.0).sum().alias(f"{t}_w"),
            )
        ),
    )


def _combine(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Partial per-contact sums added together."""
    return pl.concat(frames).group_by("contact_id").agg(
        pl.col("last_activity_at").max(),
        *(pl.col(c).sum() for c in activity.AGGREGATE_COLUMNS if c != "last_activity_at"),
    ).select("contact_id", *activity.AGGREGATE_COLUMNS)


class ActivitySums:
    """Accumulates per-contact sums over an import's chunks; `write` adds them to the database."""

    def __init__(self) -> None:
        self.pending: list[pl.DataFrame] = []
        self.rows = 0

    def add(self, events: pl.DataFrame) -> None:
        """Count these (new, stored) events."""
        if events.is_empty():
            return
        self.pending.append(per_contact(events))
        self.rows += self.pending[-1].height
        if self.rows > COMPACT_ROWS and len(self.pending) > 1:
            self.pending = [_combine(self.pending)]
            self.rows = self.pending[0].height

    def write(self, conn: Connection) -> None:
        """Upsert the sums into contact_activity (one row per contact) and forget them."""
        if not self.pending:
            return
        sums = _combine(self.pending)
        self.pending, self.rows = [], 0
        create_temp_table(conn, STAGING, [
            ("contact_id", "INTEGER"), ("two_way_n", "INTEGER"), ("last_activity_at", "TIMESTAMP"),
            *((c, "INTEGER" if c.endswith("_n") else "DOUBLE PRECISION")
              for c in activity.AGGREGATE_COLUMNS[2:]),
        ])
        bulk_insert(conn, STAGING, sums.columns, sums.iter_rows())
        activity.add_aggregates(conn, STAGING)
        conn.exec_driver_sql(f"DROP TABLE {STAGING}")
