"""funnel summary tables; indexes for the funnel's partial days, SLA entries, first touches and rejections

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00.000000

The summary starts empty and unrecorded: `leadledger init` (or `store.funnel_summary.rebuild`)
counts it from the ledger; until then the reports read the ledger directly.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_contacts_created_at", "contacts", ["created_at"]),
    ("ix_stage_changes_to_stage", "stage_changes", ["to_stage", "at", "contact_id"]),
    ("ix_stage_changes_from_stage", "stage_changes", ["from_stage", "to_stage", "at"]),
)


def upgrade() -> None:
    op.create_table(
        "funnel_journeys",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=51), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("furthest", sa.String(length=50), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "stage", "furthest", name=op.f("pk_funnel_journeys")),
    )
    op.create_table(
        "funnel_reaches",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "stage", "days", name=op.f("pk_funnel_reaches")),
    )
    op.create_table(
        "funnel_periods",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "stage", name=op.f("pk_funnel_periods")),
    )
    op.create_table(
        "funnel_stays",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "stage", "hours", name=op.f("pk_funnel_stays")),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    two_way = sa.column("two_way").is_(True)
    op.create_index("ix_events_two_way", "events", ["contact_id", "occurred_at", "two_way"], unique=False,
                    sqlite_where=two_way, postgresql_where=two_way)


def downgrade() -> None:
    op.drop_index("ix_events_two_way", table_name="events")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    for table in ("funnel_stays", "funnel_periods", "funnel_reaches", "funnel_journeys"):
        op.drop_table(table)
