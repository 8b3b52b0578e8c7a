"""Qualification evidence: upsert by (contact, field, confirmed_at)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from leadledger.domain.transitions import allowed_evidence_fields
from leadledger.services.importing.base import ChunkResult, Col, Context, Loader
from leadledger.services.importing.validate import Check, quoted, reject_frame

UPDATABLE = (Col("value"), Col("confirmed_by"))
FUTURE_SLACK = timedelta(days=1)


class EvidenceLoader(Loader):
    """Confirmed qualification facts (BANT / MEDDIC / enterprise fields of the active policy)."""

    kind = "evidence"
    staging = "import_evidence"
    staging_columns = (
        ("line", "BIGINT"), ("email", "TEXT"), ("field", "TEXT"), ("value", "TEXT"),
        ("confirmed_by", "TEXT"), ("confirmed_at", "TIMESTAMP"), ("contact_id", "INTEGER"),
        ("existing_id", "INTEGER"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.fields = allowed_evidence_fields(ctx.policy)

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """The field must be one the active policy knows; confirmations cannot be in the future."""
        return [
            Check("field", pl.col("field").is_not_null() & ~pl.col("field").is_in(self.fields),
                  pl.format("unknown evidence field {} (policy {} knows: {})", quoted("field"),
                            pl.lit(self.ctx.policy.name), pl.lit(", ".join(self.fields)))),
            Check("confirmed_at", pl.col("confirmed_at") > self.ctx.now + FUTURE_SLACK,
                  "confirmed_at is in the future"),
        ]

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Reject unknown contacts; update changed evidence, insert new evidence."""
        s, ctx = self.staging, self.ctx
        self.stage(df)
        self.lookup("contact_id", "c.id", "contacts c", f"c.email = {s}.email")
        unknown = ctx.rows(f"SELECT line, email FROM {s} WHERE contact_id IS NULL ORDER BY line")
        if unknown:
            ctx.run(f"DELETE FROM {s} WHERE contact_id IS NULL")
        same_time = (
            f"e.confirmed_at = {s}.confirmed_at" if ctx.pg
            else f"datetime(e.confirmed_at) = datetime({s}.confirmed_at)"
        )
        self.lookup(
            "existing_id", "e.id", "evidence e",
            f"e.contact_id = {s}.contact_id AND e.field = {s}.field AND {same_time}",
        )
        updated = self.update_existing("evidence", UPDATABLE, touch=False)
        inserted = ctx.run(
            "INSERT INTO evidence (contact_id, field, value, confirmed_by, confirmed_at) "
            f"SELECT contact_id, field, value, confirmed_by, confirmed_at FROM {s} "
            "WHERE existing_id IS NULL ORDER BY line"
        )
        rejects = reject_frame(
            [r.line for r in unknown], "email", [r.email for r in unknown],
            [f"no contact with email {r.email} — import contacts first" for r in unknown],
        )
        kept = df.height - len(unknown)
        return ChunkResult(inserted=inserted, updated=updated,
                           unchanged=kept - inserted - updated, rejects=rejects)
