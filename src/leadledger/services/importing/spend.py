"""Marketing spend: upsert by (source, month)."""

from __future__ import annotations

import polars as pl

from leadledger.services.importing.base import ChunkResult, Col, Loader
from leadledger.services.importing.validate import Check, quoted, raw

UPDATABLE = (Col("amount"),)
# YYYY-MM, or a date within the month (YYYY-MM-DD), which is cut to its month.
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$"


class SpendLoader(Loader):
    """Spend per source (the contacts' `source` vocabulary) and month, for cost per lead and CAC."""

    kind = "spend"
    staging = "import_spend"
    staging_columns = (
        ("line", "BIGINT"), ("source", "TEXT"), ("month", "TEXT"), ("amount", "DOUBLE PRECISION"),
        ("existing", "INTEGER"),
    )

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """A month as YYYY-MM and a non-negative amount."""
        month = raw("month").str.strip_chars()
        return [
            Check("month", month.is_not_null() & ~month.str.contains(MONTH_RE),
                  pl.format("month {} must look like YYYY-MM", quoted("month"))),
            Check("amount", pl.col("amount") < 0, "amount must be ≥ 0"),
        ]

    def derive(self, df: pl.DataFrame) -> pl.DataFrame:
        """The month as YYYY-MM."""
        return df.with_columns(pl.col("month").str.strip_chars().str.slice(0, 7))

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Update changed amounts, insert new (source, month) rows."""
        s, ctx = self.staging, self.ctx
        self.stage(df)
        self.lookup("existing", "1", "spend p", f"p.source = {s}.source AND p.month = {s}.month")
        ne = "IS DISTINCT FROM" if ctx.pg else "IS NOT"
        updated = ctx.run(
            f"UPDATE spend SET amount = s.amount, updated_at = :now FROM {s} AS s "
            f"WHERE spend.source = s.source AND spend.month = s.month AND s.existing = 1 "
            f"AND s.amount {ne} spend.amount",
            {"now": ctx.ts(ctx.now)},
        )
        inserted = ctx.run(
            f"INSERT INTO spend (source, month, amount, updated_at) "
            f"SELECT source, month, amount, :now FROM {s} WHERE existing IS NULL ORDER BY line",
            {"now": ctx.ts(ctx.now)},
        )
        return ChunkResult(inserted=inserted, updated=updated, unchanged=df.height - inserted - updated)
