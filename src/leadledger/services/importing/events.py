"""Events: exact de-duplication by event_id; only new events feed the activity aggregates."""

from __future__ import annotations

import difflib
from datetime import UTC, timedelta

import polars as pl
from sqlalchemy import Index

from leadledger.domain.records import EventType
from leadledger.services.importing.activity_sums import ActivitySums
from leadledger.services.importing.base import ChunkResult, Context, Loader
from leadledger.services.importing.contact_ids import BYTES_PER_ROW, ContactIds
from leadledger.services.importing.validate import LINE, Check, quoted, reject_frame
from leadledger.store import activity
from leadledger.store.bulk import sqlite_insert
from leadledger.store.schema import events as events_table

TYPES = tuple(e.value for e in EventType)
TWO_WAY_TYPES = tuple(t for t in TYPES if activity.default_two_way(t))
FUTURE_SLACK = timedelta(days=1)
STORED = ("event_id", "contact_id", "type", "occurred_at", "two_way", "properties")

class EventLoader(Loader):
    """Engagement events keyed by their source system's event_id."""

    kind = "events"
    staging = "import_events"
    staging_columns = (
        ("event_id", "TEXT"), ("contact_id", "INTEGER"), ("type", "TEXT"),
        ("occurred_at", "TIMESTAMP"), ("two_way", "BOOLEAN"), ("properties", "TEXT"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        anchor, half_life = activity.decay_params(ctx.conn)
        self.anchor_epoch = anchor.astimezone(UTC).timestamp()
        self.rate = activity.rate(half_life)
        self.sums = ActivitySums()
        self.contact_ids = ContactIds(ctx)
        self.deferred_indexes = self._defer_indexes()

    def _defer_indexes(self) -> list[Index]:
        """Drop events' secondary indexes when the file is about as big as the table.

        Inserting millions of rows into an index keyed by contact touches index pages at
        random; rebuilding it once at the end sorts instead (measured ≈ 8× faster at 20M
        events on SQLite). The event_id index stays: de-duplication reads it. Not on PostgreSQL,
        where dropping an index would lock readers out of `events` for the whole import.
        """
        if self.ctx.pg:
            return []
        stored = self.ctx.rows("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0]
        if self.ctx.size_bytes / BYTES_PER_ROW < stored:
            return []
        indexes = [ix for ix in events_table.indexes if not ix.unique]
        for ix in indexes:
            ix.drop(self.ctx.conn)
        return indexes

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """The type must be a known event type (with a did-you-mean hint); no far-future events."""
        bad_types = df.filter(pl.col("type").is_not_null() & ~pl.col("type").is_in(TYPES))
        hints = {t: _hint(t) for t in bad_types["type"].unique().to_list()}
        hint = pl.col("type").replace_strict(hints, default="", return_dtype=pl.String)
        return [
            Check("type", pl.col("type").is_not_null() & ~pl.col("type").is_in(TYPES),
                  pl.format("unknown event type {}{}", quoted("type"), hint)),
            Check("occurred_at", pl.col("occurred_at") > self.ctx.now + FUTURE_SLACK,
                  "occurred_at is more than 1 day in the future"),
        ]

    def derive(self, df: pl.DataFrame) -> pl.DataFrame:
        """Default direction by type, and the decay weight exp(λ·(t − anchor))."""
        seconds = pl.col("occurred_at").dt.epoch("us").cast(pl.Float64) / 1e6 - self.anchor_epoch
        return df.with_columns(
            pl.col("two_way").fill_null(pl.col("type").is_in(TWO_WAY_TYPES)),
            (seconds * self.rate).exp().alias("w"),
            pl.col("occurred_at").dt.epoch("s").alias("epoch_s"),
        )

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Reject unknown emails, drop events already stored, insert the rest, fold them in."""
        first = df["event_id"].is_first_distinct()
        repeated = df.height - int(first.sum())
        df = self.contact_ids.attach(df.filter(first))
        unknown = df.filter(pl.col("contact_id").is_null())
        df = df.filter(pl.col("contact_id").is_not_null())
        inserted, new = self._store_new(df)
        self.sums.add(new)
        emails = unknown["email"].to_list()
        rejects = reject_frame(
            unknown[LINE].to_list(), "email", emails,
            [f"no contact with email {e} — import contacts first" for e in emails],
        )
        duplicates = repeated + df.height - inserted
        # A re-delivered event changes nothing: it counts as a duplicate and as unchanged.
        return ChunkResult(inserted=inserted, unchanged=duplicates, duplicates=duplicates,
                           rejects=rejects)

    def _store_new(self, df: pl.DataFrame) -> tuple[int, pl.DataFrame]:
        """Insert the events whose ids are not stored yet; returns (count, those events)."""
        if df.is_empty():
            return 0, df
        if self.ctx.pg:
            s = self.staging
            self.stage(df)
            stored = self.ctx.conn.exec_driver_sql(
                f"DELETE FROM {s} WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_id = {s}.event_id) "
                "RETURNING event_id"
            ).scalars().all()
            stored_cols = ", ".join(STORED)
            inserted = self.ctx.run(
                f"INSERT INTO events ({stored_cols}) SELECT {stored_cols} FROM {s}")
            return inserted, df.filter(~pl.col("event_id").is_in(stored)) if stored else df
        # SQLite: straight into events, skipping ids already there. New rows get rowids above
        # the current maximum (one writer), which tells them apart from the skipped ones.
        before = self.ctx.rows("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0]
        cols = [c for c in STORED if df[c].null_count() < df.height]
        sqlite_insert(self.ctx.conn, "events", cols, df.select(cols).rows(),
                      on_conflict="ON CONFLICT (event_id) DO NOTHING")
        inserted = self.ctx.rows("SELECT COUNT(*) FROM events WHERE seq > :b", {"b": before})[0][0]
        if inserted == df.height:
            return inserted, df
        new = self.ctx.conn.exec_driver_sql(
            "SELECT event_id FROM events WHERE seq > ?", (before,)).scalars().all()
        return inserted, df.filter(pl.col("event_id").is_in(new))

    def finish(self) -> None:
        """Add the new events to the activity aggregates; drop the staging table."""
        self.sums.write(self.ctx.conn)
        for ix in self.deferred_indexes:
            ix.create(self.ctx.conn)
        super().finish()


def _hint(bad: str) -> str:
    close = difflib.get_close_matches(bad, TYPES, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]}?)"
    return f" (types: {', '.join(TYPES)})"
