"""Accounts: upsert by domain."""

from __future__ import annotations

import polars as pl

from leadledger.services.importing.base import ChunkResult, Col, Loader

UPDATABLE = (
    Col("name"), Col("industry"), Col("employees"), Col("annual_revenue"), Col("country"),
    Col("tech_stack"), Col("owner"), Col("churned_at", is_datetime=True),
)


class AccountLoader(Loader):
    """Accounts keyed by their (normalised) domain."""

    kind = "accounts"
    staging = "import_accounts"
    staging_columns = (
        ("line", "BIGINT"), ("domain", "TEXT"), ("name", "TEXT"), ("industry", "TEXT"),
        ("employees", "BIGINT"), ("annual_revenue", "DOUBLE PRECISION"), ("country", "TEXT"),
        ("tech_stack", "TEXT"), ("owner", "TEXT"), ("churned_at", "TIMESTAMP"),
        ("existing_id", "INTEGER"),
    )

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Update changed accounts, insert new ones."""
        s = self.staging
        self.stage(df)
        self.lookup("existing_id", "a.id", "accounts a", f"a.domain = {s}.domain")
        updated = self.update_existing("accounts", UPDATABLE)
        cols = ", ".join(c.name for c in UPDATABLE)
        inserted = self.ctx.run(
            f"INSERT INTO accounts (domain, {cols}, created_at, updated_at) "
            f"SELECT domain, {cols}, :now, :now FROM {s} WHERE existing_id IS NULL ORDER BY line",
            {"now": self.ctx.ts(self.ctx.now)},
        )
        return ChunkResult(inserted=inserted, updated=updated,
                           unchanged=df.height - inserted - updated)
