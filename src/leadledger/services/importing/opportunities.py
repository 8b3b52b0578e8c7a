"""Opportunities: upsert by external id, linked to an existing account and committee contacts."""

from __future__ import annotations

import polars as pl

from leadledger.domain.records import OpportunityType
from leadledger.services.importing import parse
from leadledger.services.importing.base import ChunkResult, Col, Context, Loader
from leadledger.services.importing.validate import LINE, Check, quoted, raw, reject_frame
from leadledger.store.bulk import create_temp_table

UPDATABLE = (
    Col("account_id"), Col("name"), Col("type"), Col("stage"), Col("amount"),
    Col("expected_close", is_datetime=True), Col("signed_at", is_datetime=True),
    Col("booked_at", is_datetime=True), Col("lost_reason"), Col("owner"),
)
TYPES = tuple(t.value for t in OpportunityType)
LOST_STAGES = ("closed_lost", "lost")
UNSPECIFIED_LOSS = "unspecified (imported as closed lost)"
ROLES = "import_opportunity_roles"
NAMES = "import_account_names"
ROLE_MAX = 50  # opportunity_contacts.role is VARCHAR(50)


def _role_parts(contacts: pl.Expr) -> pl.Expr:
    """'a@x.com:champion; b@y.com' → ['a@x.com:champion', 'b@y.com']."""
    return contacts.str.split(";").list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")
    )


class OpportunityLoader(Loader):
    """Opportunities keyed by the source system's id (`opportunity_id` → external_id)."""

    kind = "opportunities"
    staging = "import_opportunities"
    staging_columns = (
        ("line", "BIGINT"), ("external_id", "TEXT"), ("account_domain", "TEXT"),
        ("account_name", "TEXT"), ("name", "TEXT"), ("type", "TEXT"), ("stage", "TEXT"),
        ("amount", "DOUBLE PRECISION"), ("expected_close", "TIMESTAMP"),
        ("signed_at", "TIMESTAMP"), ("booked_at", "TIMESTAMP"), ("lost_reason", "TEXT"),
        ("owner", "TEXT"), ("account_id", "INTEGER"), ("existing_id", "INTEGER"),
        ("links_changed", "BOOLEAN"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        create_temp_table(ctx.conn, ROLES, [("line", "BIGINT"), ("email", "TEXT"),
                                            ("role", "TEXT"), ("contact_id", "INTEGER")])
        # Exports that name the account instead of giving its domain match on the name.
        ctx.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NAMES}")
        ctx.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {NAMES} AS SELECT lower(name) AS lname, MIN(id) AS id, "
            "COUNT(*) AS n FROM accounts GROUP BY lower(name)"
        )
        ctx.conn.exec_driver_sql(f"CREATE INDEX ix_{NAMES} ON {NAMES} (lname)")
        self.lost_without_reason = 0

    def checks(self, df: pl.DataFrame) -> list[Check]:
        """An account reference, a known type, a non-negative amount, valid committee emails."""
        emails = _role_parts(raw("contacts")).list.eval(
            pl.element().str.split(":").list.first().str.strip_chars().str.to_lowercase()
        )
        bad_email = emails.list.eval(~pl.element().str.contains(parse.EMAIL_RE)).list.any()
        return [
            Check("account_domain", pl.col("account_domain").is_null()
                  & pl.col("account_name").is_null(),
                  "missing required value (account_domain or account_name)"),
            Check("type", pl.col("type").is_not_null() & ~pl.col("type").is_in(TYPES),
                  pl.format("unknown opportunity type {} (types: {})", quoted("type"),
                            pl.lit(", ".join(TYPES)))),
            Check("amount", pl.col("amount") < 0, "amount must be ≥ 0"),
            Check("contacts", bad_email.fill_null(False),
                  "contacts must look like email:role;email:role with valid emails"),
        ]

    def derive(self, df: pl.DataFrame) -> pl.DataFrame:
        """external_id; a lost deal without a reason is recorded as lost, not left open."""
        lost = pl.col("stage").is_in(LOST_STAGES) & pl.col("lost_reason").is_null()
        self.lost_without_reason += int(df.select(lost.sum()).item())
        return df.with_columns(
            pl.col("opportunity_id").alias("external_id"),
            pl.when(lost).then(pl.lit(UNSPECIFIED_LOSS)).otherwise(pl.col("lost_reason"))
            .alias("lost_reason"),
        )

    def load(self, df: pl.DataFrame) -> ChunkResult:
        """Resolve accounts and contacts, reject what does not resolve, upsert the rest."""
        s, ctx = self.staging, self.ctx
        self.stage(df)
        self.stage(_roles(df), ROLES, ["line", "email", "role"])
        self.lookup("account_id", "a.id", "accounts a", f"a.domain = {s}.account_domain")
        self.lookup("account_id", "n.id", f"{NAMES} n",
                    f"n.lname = lower({s}.account_name) AND n.n = 1",
                    where=f"{s}.account_domain IS NULL")
        self.lookup("contact_id", "c.id", "contacts c", f"c.email = {ROLES}.email", table=ROLES)
        rejects = self._rejects()
        if not rejects.is_empty():
            ctx.run(f"DELETE FROM {s} WHERE account_id IS NULL OR line IN "
                    f"(SELECT line FROM {ROLES} WHERE contact_id IS NULL)")
            ctx.run(f"DELETE FROM {ROLES} WHERE line NOT IN (SELECT line FROM {s})")
        self.lookup("existing_id", "o.id", "opportunities o", f"o.external_id = {s}.external_id")
        ctx.run(
            f"UPDATE {s} SET links_changed = true WHERE existing_id IS NOT NULL AND EXISTS ("
            f"SELECT 1 FROM {ROLES} r WHERE r.line = {s}.line AND NOT EXISTS ("
            f"SELECT 1 FROM opportunity_contacts oc WHERE oc.opportunity_id = {s}.existing_id "
            "AND oc.contact_id = r.contact_id AND oc.role = r.role))"
        )
        updated = self.update_existing("opportunities", UPDATABLE, extra_where="s.links_changed")
        inserted = self._insert_new()
        ctx.run(
            "INSERT INTO opportunity_contacts (opportunity_id, contact_id, role) "
            f"SELECT DISTINCT o.id, r.contact_id, r.role FROM {ROLES} r "
            f"JOIN {s} s ON s.line = r.line JOIN opportunities o ON o.external_id = s.external_id "
            "WHERE true ON CONFLICT DO NOTHING"
        )
        kept = df.height - rejects.height
        return ChunkResult(inserted=inserted, updated=updated,
                           unchanged=kept - inserted - updated, rejects=rejects)

    def _rejects(self) -> pl.DataFrame:
        s, ctx = self.staging, self.ctx
        lines: list[int] = []
        fields: list[str] = []
        values: list[str | None] = []
        reasons: list[str] = []
        for r in ctx.rows(
            f"SELECT s.line, s.account_domain, s.account_name, n.n FROM {s} s "
            f"LEFT JOIN {NAMES} n ON n.lname = lower(s.account_name) "
            "WHERE s.account_id IS NULL ORDER BY s.line"
        ):
            lines.append(r.line)
            if r.account_domain is not None:
                fields.append("account_domain")
                values.append(r.account_domain)
                reasons.append(f"no account with domain {r.account_domain} — import accounts first")
            else:
                fields.append("account_name")
                values.append(r.account_name)
                reasons.append(
                    f"{r.n} accounts are named {r.account_name!r}: give account_domain to pick one"
                    if r.n else f"no account named {r.account_name!r} — import accounts first"
                )
        done = set(lines)
        for r in ctx.rows(f"SELECT line, email FROM {ROLES} WHERE contact_id IS NULL ORDER BY line"):
            if r.line not in done:
                done.add(r.line)
                lines.append(r.line)
                fields.append("contacts")
                values.append(r.email)
                reasons.append(f"no contact with email {r.email} — import contacts first")
        return reject_frame(lines, fields, values, reasons)

    def _insert_new(self) -> int:
        s, ctx = self.staging, self.ctx
        cols = [c.name for c in UPDATABLE if c.name not in ("name", "type", "stage")]
        return ctx.run(
            f"INSERT INTO opportunities (external_id, name, type, stage, {', '.join(cols)}, "
            "created_at, updated_at) "
            f"SELECT external_id, COALESCE(name, external_id), COALESCE(type, 'new'), "
            f"COALESCE(stage, 'discovery'), {', '.join(cols)}, :now, :now "
            f"FROM {s} WHERE existing_id IS NULL ORDER BY line",
            {"now": ctx.ts(ctx.now)},
        )

    def finish(self) -> None:
        """Drop staging; warn about lost deals without a reason."""
        super().finish()
        for table in (ROLES, NAMES):
            self.ctx.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        if self.lost_without_reason:
            self.warnings.append(
                f"{self.lost_without_reason} lost opportunities had no lost reason; "
                f"recorded as {UNSPECIFIED_LOSS!r} so that they do not count as open pipeline"
            )


def _roles(df: pl.DataFrame) -> pl.DataFrame:
    """One row per (opportunity line, contact email, committee role)."""
    parts = df.select(pl.col(LINE), _role_parts(pl.col("contacts")).alias("part")).explode("part")
    pair = pl.col("part").str.splitn(":", 2)
    role = pair.struct.field("field_1").str.strip_chars()
    return (
        parts.filter(pl.col("part").is_not_null())
        .select(
            pl.col(LINE),
            pair.struct.field("field_0").str.strip_chars().str.to_lowercase().alias("email"),
            pl.when(role != "").then(parse.token(role).str.slice(0, ROLE_MAX))
            .otherwise(pl.lit("contact")).alias("role"),
        )
        .unique(maintain_order=True)
    )
