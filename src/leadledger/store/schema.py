"""The one schema (SQLAlchemy Core); Alembic migrations are generated from it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from leadledger.domain.records import EventType

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# All timestamps are stored as naive UTC; the repositories attach the timezone on read.
# Categorical text (industry, country, seniority, role, source, tech_stack, emails, domains) is
# stored lower-case, so the compiled scoring SQL can compare without lower() (whose Unicode
# handling differs between SQLite and PostgreSQL).
policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("version", String(200), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("yaml", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("domain", String(255), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("industry", String(100)),
    Column("employees", Integer),
    Column("annual_revenue", Float),
    Column("country", String(100)),
    Column("tech_stack", Text),  # comma-separated, lower-case
    Column("owner", String(255)),
    Column("churned_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("company", String(255)),
    Column("title", String(255)),
    Column("seniority", String(50)),
    Column("role", String(100)),
    Column("account_id", Integer, ForeignKey("accounts.id")),
    Column("owner", String(255)),
    Column("source", String(50)),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("stage", String(50), nullable=False),
    Column("stage_entered_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_contacts_stage", "stage"),
    Index("ix_contacts_account_id", "account_id"),
    Index("ix_contacts_created_at", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=False),
    Column("type", String(50), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("two_way", Boolean, nullable=False),
    Column("properties", Text),
    # Covering: a range of contacts' events in time order is one index scan (replay, timelines).
    Index("ix_events_contact_id", "contact_id", "occurred_at", "seq", "type", "two_way"),
)
# Replies, calls and meetings only (a few % of events): the first touch after an SLA stage entry is
# one lookup. The condition is spelled as the queries spell it, so SQLite can use the index, and
# two_way is a column too, so SQLite need not read the row to check it.
_TWO_WAY = events.c.two_way.is_(True)
Index("ix_events_two_way", events.c.contact_id, events.c.occurred_at, events.c.two_way,
      sqlite_where=_TWO_WAY, postgresql_where=_TWO_WAY)

# Per-contact running aggregates, maintained as events arrive, so that a full rescore reads one
# row per contact instead of every event. For each event type t: t_n = count and
# t_w = Σ exp(λ·(t_i − anchor)); the score multiplies t_w by exp(−λ·(now − anchor)).
ACTIVITY_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)
contact_activity = Table(
    "contact_activity",
    metadata,
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("two_way_n", Integer, nullable=False, default=0),
    Column("last_activity_at", DateTime),
    *[
        col
        for t in ACTIVITY_TYPES
        for col in (
            Column(f"{t}_n", Integer, nullable=False, default=0),
            Column(f"{t}_w", Float, nullable=False, default=0.0),
        )
    ],
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=False),
    Column("field", String(50), nullable=False),
    Column("value", Text, nullable=False),
    Column("confirmed_by", String(255), nullable=False),
    Column("confirmed_at", DateTime, nullable=False),
    UniqueConstraint("contact_id", "field", "confirmed_at", name="uq_evidence_contact_field_at"),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(200), nullable=False, unique=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(20), nullable=False),
    Column("stage", String(50), nullable=False),
    Column("amount", Float),
    Column("expected_close", DateTime),
    Column("signed_at", DateTime),
    Column("booked_at", DateTime),
    Column("lost_reason", Text),
    Column("owner", String(255)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint("type IN ('new', 'expansion', 'renewal')", name="type"),
    CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
    Index("ix_opportunities_account_id", "account_id"),
)

opportunity_contacts = Table(
    "opportunity_contacts",
    metadata,
    Column("opportunity_id", Integer, ForeignKey("opportunities.id"), primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("role", String(50), primary_key=True),
)

stage_changes = Table(
    "stage_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=False),
    Column("from_stage", String(50)),
    Column("to_stage", String(50), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON snapshot
    Column("policy_version", String(200), nullable=False),
    Index("ix_stage_changes_contact_id", "contact_id", "at"),
    # SLA entries, first customer entries and the funnel's partial days; sales rejections
    Index("ix_stage_changes_to_stage", "to_stage", "at", "contact_id"),
    Index("ix_stage_changes_from_stage", "from_stage", "to_stage", "at"),
)

scores = Table(
    "scores",
    metadata,
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("fit", Float, nullable=False),
    Column("behavior", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("scored_at", DateTime, nullable=False),
    Column("policy_version", String(200), nullable=False),
)

# Marketing spend per source and month (YYYY-MM), for cost per lead and CAC; upserted by the key.
spend = Table(
    "spend",
    metadata,
    Column("source", String(50), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("amount", Float, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint("amount >= 0", name="amount"),
)

# The funnel summary (`store.funnel_summary`): the funnel's counts per calendar day (UTC), kept in
# step with the ledger. Keys are never NULL: a missing source or furthest stage is stored as "".
funnel_journeys = Table(
    "funnel_journeys",
    metadata,
    Column("day", String(10), primary_key=True),  # creation day
    Column("source", String(51), primary_key=True),  # "" = none, else "=" + source
    Column("stage", String(50), primary_key=True),  # current stage
    Column("furthest", String(50), primary_key=True),  # furthest main stage reached, "" = none
    Column("contacts", Integer, nullable=False),
)

funnel_reaches = Table(
    "funnel_reaches",
    metadata,
    Column("day", String(10), primary_key=True),  # creation day
    Column("stage", String(50), primary_key=True),  # main stage reached (or passed)
    Column("days", Integer, primary_key=True),  # whole days from creation to the first reach
    Column("contacts", Integer, nullable=False),
)

funnel_periods = Table(
    "funnel_periods",
    metadata,
    Column("day", String(10), primary_key=True),  # day of the first reach
    Column("stage", String(50), primary_key=True),
    Column("contacts", Integer, nullable=False),
)

funnel_stays = Table(
    "funnel_stays",
    metadata,
    Column("day", String(10), primary_key=True),  # day the stay began
    Column("stage", String(50), primary_key=True),
    Column("hours", Integer, primary_key=True),  # hourly under 72 h, whole days (in hours) after
    Column("stays", Integer, nullable=False),
)

# The same counts per calendar month (YYYY-MM, UTC): each row is the sum of its month's day rows,
# written by the same upkeep, so a report reads a window's whole months here and its other days
# from the tables above.
funnel_journeys_monthly = Table(
    "funnel_journeys_monthly",
    metadata,
    Column("month", String(7), primary_key=True),  # creation month
    Column("source", String(51), primary_key=True),
    Column("stage", String(50), primary_key=True),
    Column("furthest", String(50), primary_key=True),
    Column("contacts", Integer, nullable=False),
)

funnel_reaches_monthly = Table(
    "funnel_reaches_monthly",
    metadata,
    Column("month", String(7), primary_key=True),  # creation month
    Column("stage", String(50), primary_key=True),
    Column("days", Integer, primary_key=True),
    Column("contacts", Integer, nullable=False),
)

funnel_periods_monthly = Table(
    "funnel_periods_monthly",
    metadata,
    Column("month", String(7), primary_key=True),  # month of the first reach
    Column("stage", String(50), primary_key=True),
    Column("contacts", Integer, nullable=False),
)

funnel_stays_monthly = Table(
    "funnel_stays_monthly",
    metadata,
    Column("month", String(7), primary_key=True),  # month the stay began
    Column("stage", String(50), primary_key=True),
    Column("hours", Integer, primary_key=True),
    Column("stays", Integer, nullable=False),
)

# Predictive models trained on the ledger: one row per version, at most one active.
predictive_models = Table(
    "predictive_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("outcome", Text, nullable=False),  # what counts as converted, and when a lead is judged
    Column("window_start", DateTime),  # decision times of the training leads
    Column("window_end", DateTime),
    Column("leads", Integer, nullable=False),
    Column("converted", Integer, nullable=False),
    Column("features", Text, nullable=False),  # JSON list of feature names
    Column("metrics", Text, nullable=False),  # JSON: the cross-validated report
    Column("policy_version", String(200), nullable=False),
    Column("model", Text, nullable=False),  # JSON: encoder, calibration and the LightGBM model as text
    Column("active", Boolean, nullable=False, default=False),
    Column("activated_at", DateTime),  # the last time it became active (rollback goes back to the one before)
)

# The active model's probability per contact, written set-based by `leadledger score`; every row
# names the model version that made it. Explanations are recomputed on demand (`leadledger explain`).
predictions = Table(
    "predictions",
    metadata,
    Column("contact_id", Integer, ForeignKey("contacts.id"), primary_key=True),
    Column("model_id", Integer, ForeignKey("predictive_models.id"), nullable=False),
    Column("probability", Float, nullable=False),
    Column("scored_at", DateTime, nullable=False),
    CheckConstraint("probability >= 0 AND probability <= 1", name="probability"),
    Index("ix_predictions_model_id", "model_id"),
)

# Who may act: dashboard users (password hashed with argon2) and API keys (the secret is shown
# once; only its SHA-256 is kept, found by its public prefix). Roles are the ones in docs/security.md.
ROLES: tuple[str, ...] = ("admin", "marketing", "sales", "client-success", "read-only", "ingest-only")
_ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(30), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("disabled_at", DateTime),
    CheckConstraint(_ROLE_CHECK, name="role"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),  # what the key is for; rotation keeps two per name
    Column("prefix", String(16), nullable=False, unique=True),  # public part, shown in listings
    Column("key_hash", String(64), nullable=False),  # SHA-256 hex of the whole key
    Column("role", String(30), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("revoked_at", DateTime),
    Column("last_used_at", DateTime),
    CheckConstraint(_ROLE_CHECK, name="role"),
    Index("ix_api_keys_name", "name"),
)
