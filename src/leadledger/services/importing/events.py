"""Events: exact de-duplication by event_id; only new events feed the activity aggregates."""

from __future__ import annotations

import difflib
from datetime import UTC, timedelta

import polars as pl

from leadledger.domain.records import EventType
from leadledger.services.importing.base import ChunkResult, Context, Loader
from leadledger.services.importing.validate import Check, quoted, reject_frame
from leadledger.store import activity

TYPES = tuple(e.value for e in EventType)
TWO_WAY_TYPES = tuple(t for t in TYPES if activity.default_two_way(t))
FUTURE_SLACK = timedelta(days=1)

class EventLoader(Loader):
    """Engagement events keyed by their source system's event_id."""

    kind = "events"
    staging = "import_events"
    staging_columns = (
        ("line", "BIGINT"), ("event_id", "TEXT"), ("email", "TEXT"), ("type", "TEXT"),
        ("occurred_at", "TIMESTAMP"), ("two_way", "BOOLEAN"), ("properties", "TEXT"),
        ("w", "DOUBLE PRECISION"), ("contact_id", "INTEGER"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        anchor, half_life = activity.decay_params(ctx.conn)
        self.anchor_epoch = anchor.astimezone(UTC).timestamp()
        self.rate = activity.rate(half_life)

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
        )

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Drop events already stored, reject unknown emails, insert the rest, fold them in."""
        s, ctx = self.staging, self.ctx
        first = df["event_id"].is_first_distinct()
        repeated = df.height - int(first.sum())
        df = df.filter(first)
        self.stage(df)
        stored = ctx.run(
            f"DELETE FROM {s} WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_id = {s}.event_id)"
        )
        self.lookup("contact_id", f"SELECT c.id FROM contacts c WHERE c.email = {s}.email")
        unknown = ctx.rows(f"SELECT line, email FROM {s} WHERE contact_id IS NULL ORDER BY line")
        if unknown:
            ctx.run(f"DELETE FROM {s} WHERE contact_id IS NULL")
        inserted = ctx.run(
            "INSERT INTO events (event_id, contact_id, type, occurred_at, two_way, properties) "
            f"SELECT event_id, contact_id, type, occurred_at, two_way, properties FROM {s}"
        )
        if inserted:
            activity.add_staged_events(ctx.conn, s)
        rejects = reject_frame(
            [r.line for r in unknown], "email", [r.email for r in unknown],
            [f"no contact with email {r.email} — import contacts first" for r in unknown],
        )
        duplicates = repeated + stored
        # A re-delivered event changes nothing: it counts as a duplicate and as unchanged.
        return ChunkResult(inserted=inserted, unchanged=duplicates, duplicates=duplicates,
                           rejects=rejects)

def _hint(bad: str) -> str:
    close = difflib.get_close_matches(bad, TYPES, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]}?)"
    return f" (types: {', '.join(TYPES)})"
