"""Contacts: upsert by email; new contacts get their first ledger entry, stages never move here."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from sqlalchemy import column, select, table

from leadledger.domain.records import Source
from leadledger.services.importing.base import ChunkResult, Col, Context, Loader
from leadledger.services.importing.validate import Check, quoted, raw
from leadledger.store.funnel_summary import Maintenance
from leadledger.store.schema import contacts

UPDATABLE = (
    Col("first_name"), Col("last_name"), Col("company"), Col("title"), Col("seniority"),
    Col("role"), Col("account_id"), Col("owner"), Col("source"), Col("opted_out"),
    Col("created_at", is_datetime=True),
)
SOURCES = frozenset(s.value for s in Source)
FUTURE_SLACK = timedelta(days=1)


class ContactLoader(Loader):
    """Contacts keyed by their lower-cased email."""

    kind = "contacts"
    staging = "import_contacts"
    staging_columns = (
        ("line", "BIGINT"), ("email", "TEXT"), ("first_name", "TEXT"),
        ("last_name", "TEXT"), ("company", "TEXT"), ("title", "TEXT"), ("seniority", "TEXT"),
        ("role", "TEXT"), ("account_domain", "TEXT"), ("owner", "TEXT"), ("source", "TEXT"),
        ("opted_out", "BOOLEAN"), ("stage", "TEXT"), ("created_at", "TIMESTAMP"),
        ("source_label", "TEXT"), ("account_id", "INTEGER"), ("existing_id", "INTEGER"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.stages = tuple(s.name for s in ctx.policy.stages)
        self.unknown_accounts = 0
        self.stage_differs = 0
        self.routed = 0
        self.odd_sources: set[str] = set()

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """The stage must exist in the active policy; created_at may not lie in the future."""
        stage_names = ", ".join(self.stages)
        return [
            Check("stage", pl.col("stage").is_not_null() & ~pl.col("stage").is_in(self.stages),
                  pl.format("unknown stage {} (stages of policy {}: {})", quoted("stage"),
                            pl.lit(self.ctx.policy.name), pl.lit(stage_names))),
            Check("created_at", pl.col("created_at") > self.ctx.now + FUTURE_SLACK,
                  "created_at is in the future"),
        ]

    def derive(self, df: pl.DataFrame) -> pl.DataFrame:
        """Collect unusual sources; keep the file's own stage label when a mapping translated it."""
        if "source" not in self.ctx.plan.kind.values and len(self.odd_sources) < 50:
            odd = df.filter(pl.col("source").is_not_null() & ~pl.col("source").is_in(SOURCES))
            self.odd_sources.update(odd["source"].unique().head(50).to_list())
        if "stage" in self.ctx.plan.kind.values:
            df = df.with_columns(raw("stage").alias("source_label"))
        return df

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Link accounts, route customer contacts, update changed contacts, insert new ones."""
        s, ctx = self.staging, self.ctx
        self.stage(df)
        self.lookup("existing_id", "c.id", "contacts c", f"c.email = {s}.email")
        domain = f"COALESCE({s}.account_domain, {self.email_domain_sql(f'{s}.email')})"
        self.lookup("account_id", "a.id", "accounts a", f"a.domain = {domain}")
        if ctx.policy.edge_cases.customer_contacts_route_to_owner:
            # Existing customers' contacts are never fresh leads: they go to the account owner.
            self.routed += ctx.run(
                f"UPDATE {s} SET owner = (SELECT a.owner FROM accounts a WHERE a.id = {s}.account_id) "
                f"WHERE existing_id IS NULL AND owner IS NULL AND account_id IN ("
                "SELECT o.account_id FROM opportunities o JOIN accounts a ON a.id = o.account_id "
                "WHERE o.signed_at IS NOT NULL AND o.booked_at IS NOT NULL AND a.owner IS NOT NULL)"
            )
        unknown, differs = ctx.rows(
            "SELECT COALESCE(SUM(CASE WHEN s.account_domain IS NOT NULL AND s.account_id IS NULL "
            "THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN s.stage IS NOT NULL AND s.stage <> c.stage THEN 1 ELSE 0 END), 0) "
            f"FROM {s} s LEFT JOIN contacts c ON c.id = s.existing_id"
        )[0]
        self.unknown_accounts += int(unknown)
        self.stage_differs += int(differs)
        staged = table(s, column("existing_id"), column("email"))
        existing = select(staged.c.existing_id).where(staged.c.existing_id.is_not(None))
        upkeep = Maintenance(ctx.conn)  # the funnel summary counts contacts by source and cohort
        upkeep.remove(existing)
        updated = self.update_existing("contacts", UPDATABLE)
        inserted = self._insert_new()
        upkeep.add(existing)
        created = staged.join(contacts, contacts.c.email == staged.c.email)
        upkeep.add_created(select(contacts.c.id).select_from(created).where(staged.c.existing_id.is_(None)))
        upkeep.finish()
        return ChunkResult(inserted=inserted, updated=updated,
                           unchanged=df.height - inserted - updated)

    def _insert_new(self) -> int:
        s, ctx = self.staging, self.ctx
        params = {
            "now": ctx.ts(ctx.now), "first": ctx.policy.first_stage.name,
            "actor": f"import:{ctx.file_name}", "version": ctx.policy.version,
        }
        cols = [c.name for c in UPDATABLE if c.name not in ("opted_out", "created_at")]
        inserted = ctx.run(
            f"INSERT INTO contacts (email, {', '.join(cols)}, opted_out, stage, stage_entered_at, "
            "created_at, updated_at) "
            f"SELECT email, {', '.join(cols)}, COALESCE(opted_out, false), COALESCE(stage, :first), "
            "COALESCE(created_at, :now), COALESCE(created_at, :now), :now "
            f"FROM {s} WHERE existing_id IS NULL ORDER BY line",
            params,
        )
        if inserted:
            pairs = [("imported_label", "s.stage"), ("source_file", "CAST(:file AS TEXT)"),
                     ("line", "s.line")]
            if "stage" in ctx.plan.kind.values:
                pairs.append(("source_label", "s.source_label"))
            ctx.run(
                "INSERT INTO stage_changes (contact_id, from_stage, to_stage, at, actor, reason, "
                "evidence, policy_version) "
                "SELECT c.id, NULL, c.stage, c.stage_entered_at, :actor, 'imported', "
                f"{self.json_object_sql(pairs)}, :version "
                f"FROM {s} s JOIN contacts c ON c.email = s.email "
                "WHERE s.existing_id IS NULL ORDER BY s.line",
                {**params, "file": ctx.file_name},
            )
        return inserted

    def finish(self) -> None:
        """Warnings about account links, stage differences, routing and unusual sources."""
        super().finish()
        if self.unknown_accounts:
            self.warnings.append(
                f"{self.unknown_accounts} contacts reference unknown account domains "
                "(account left empty; import the accounts first, then re-import)"
            )
        if self.stage_differs:
            self.warnings.append(
                f"{self.stage_differs} rows carry a different stage than stored; "
                "stage changes go through `leadledger move`"
            )
        if self.routed:
            self.warnings.append(
                f"{self.routed} new contacts belong to customer accounts and were routed to "
                "the account owner"
            )
        if self.odd_sources:
            shown = ", ".join(sorted(self.odd_sources)[:10])
            self.warnings.append(
                f"sources outside the standard list ({', '.join(sorted(SOURCES))}): {shown}"
            )
