"""email → contact id for a chunk, resolved in Polars rather than row by row in SQL."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from leadledger.services.importing.base import Context
from leadledger.store.schema import contacts

IN_BATCH = 5_000
# A file expected to mention at least this share of all contacts loads the whole email index once.
PRELOAD_SHARE = 0.25
BYTES_PER_ROW = 60  # a typical event line, for estimating a file's rows from its size


class ContactIds:
    """Looks up the contact ids of a chunk's emails: one index load for big files, IN lists else."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index: pl.DataFrame | None = None
        stored = ctx.rows("SELECT COUNT(*) FROM contacts")[0][0]
        if ctx.size_bytes / BYTES_PER_ROW >= PRELOAD_SHARE * stored:
            self.index = self._fetch(None)

    def attach(self, df: pl.DataFrame) -> pl.DataFrame:
        """`df` with a `contact_id` column (null where no contact has the email)."""
        index = self.index
        if index is None:
            emails = df["email"].unique().to_list()
            index = pl.concat(
                [self._fetch(emails[i:i + IN_BATCH]) for i in range(0, len(emails), IN_BATCH)]
                or [self._fetch([])]
            )
        return df.join(index, on="email", how="left", maintain_order="left")

    def _fetch(self, emails: list[str] | None) -> pl.DataFrame:
        query = select(contacts.c.email, contacts.c.id.label("contact_id"))
        if emails is not None:
            query = query.where(contacts.c.email.in_(emails))
        rows = self.ctx.conn.execute(query).all()
        return pl.DataFrame(
            [tuple(r) for r in rows], schema={"email": pl.String, "contact_id": pl.Int64},
            orient="row",
        )
