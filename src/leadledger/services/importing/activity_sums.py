"""Per-contact activity sums of newly imported events, kept in memory and written once.

Folding each chunk into `contact_activity` in SQL means a wide GROUP BY and an upsert per chunk;
adding each chunk into dense arrays indexed by contact id costs O(chunk), and the import then
writes each touched contact's row once.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sqlalchemy import Connection

from leadledger.services.importing.parse import storage_text
from leadledger.store import activity
from leadledger.store.bulk import bulk_insert, create_temp_table
from leadledger.store.schema import ACTIVITY_TYPES

TYPE_INDEX = {t: i for i, t in enumerate(ACTIVITY_TYPES)}
STAGING = "import_activity_sums"
NEVER = np.iinfo(np.int64).min


class ActivitySums:
    """Counts, decayed weights, two-way counts and latest time per contact, over an import."""

    def __init__(self) -> None:
        self.counts = np.zeros((len(ACTIVITY_TYPES), 0), dtype=np.int64)
        self.weights = np.zeros((len(ACTIVITY_TYPES), 0), dtype=np.float64)
        self.two_way = np.zeros(0, dtype=np.int64)
        self.last = np.zeros(0, dtype=np.int64)  # epoch seconds

    def add(self, events: pl.DataFrame) -> None:
        """Count these new, stored events (columns contact_id, type, two_way, w, epoch_s)."""
        if events.is_empty():
            return
        cid = events["contact_id"].to_numpy()
        self._grow(int(cid.max()) + 1)
        kind = events["type"].replace_strict(TYPE_INDEX, return_dtype=pl.Int64).to_numpy()
        np.add.at(self.counts, (kind, cid), 1)
        np.add.at(self.weights, (kind, cid), events["w"].to_numpy())
        np.add.at(self.two_way, cid, events["two_way"].cast(pl.Int64).to_numpy())
        np.maximum.at(self.last, cid, events["epoch_s"].to_numpy())

    def _grow(self, size: int) -> None:
        old = self.two_way.size
        if size <= old:
            return
        size = max(size, 2 * old)
        pad = size - old
        self.counts = np.pad(self.counts, ((0, 0), (0, pad)))
        self.weights = np.pad(self.weights, ((0, 0), (0, pad)))
        self.two_way = np.pad(self.two_way, (0, pad))
        self.last = np.pad(self.last, (0, pad), constant_values=NEVER)

    def to_frame(self) -> pl.DataFrame:
        """One row per contact with new events: contact_id + activity.AGGREGATE_COLUMNS."""
        touched = np.flatnonzero(self.last != NEVER)
        columns: dict[str, object] = {
            "contact_id": touched,
            "two_way_n": self.two_way[touched],
            "last_activity_at": pl.from_epoch(pl.Series(self.last[touched]), time_unit="s"),
        }
        for t, i in TYPE_INDEX.items():
            columns[f"{t}_n"] = self.counts[i, touched]
            columns[f"{t}_w"] = self.weights[i, touched]
        frame = pl.DataFrame(columns)
        return frame.with_columns(storage_text(pl.col("last_activity_at")))

    def write(self, conn: Connection) -> None:
        """Add the sums to contact_activity (one upsert row per touched contact)."""
        sums = self.to_frame()
        if sums.is_empty():
            return
        create_temp_table(conn, STAGING, [
            ("contact_id", "INTEGER"), ("two_way_n", "INTEGER"), ("last_activity_at", "TIMESTAMP"),
            *((c, "INTEGER" if c.endswith("_n") else "DOUBLE PRECISION")
              for c in activity.AGGREGATE_COLUMNS[2:]),
        ])
        bulk_insert(conn, STAGING, sums.columns, sums.rows())
        activity.add_aggregates(conn, STAGING)
        conn.exec_driver_sql(f"DROP TABLE {STAGING}")
