"""funnel summary by month: the day tables' counts summed per calendar month

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:00:00.000000

The month tables start as the sums of the day tables' rows, so a summary that was up to date stays
up to date and `leadledger init` has nothing to recount (one grouped read per table). A summary
that was stale stays stale, and init recounts both from the ledger as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each month table: the day table it sums, its keys after the month, and the counted column.
TABLES = (
    ("funnel_journeys", ("source", "stage", "furthest"), "contacts"),
    ("funnel_reaches", ("stage", "days"), "contacts"),
    ("funnel_periods", ("stage",), "contacts"),
    ("funnel_stays", ("stage", "hours"), "stays"),
)


def upgrade() -> None:
    key = sa.String(length=50)
    op.create_table(
        "funnel_journeys_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("source", sa.String(length=51), nullable=False),
        sa.Column("stage", key, nullable=False),
        sa.Column("furthest", key, nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "source", "stage", "furthest", name=op.f("pk_funnel_journeys_monthly")),
    )
    op.create_table(
        "funnel_reaches_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("stage", key, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "stage", "days", name=op.f("pk_funnel_reaches_monthly")),
    )
    op.create_table(
        "funnel_periods_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("stage", key, nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "stage", name=op.f("pk_funnel_periods_monthly")),
    )
    op.create_table(
        "funnel_stays_monthly",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("stage", key, nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "stage", "hours", name=op.f("pk_funnel_stays_monthly")),
    )
    for day_table, keys, value in TABLES:
        cols = ", ".join(keys)
        op.execute(
            f"INSERT INTO {day_table}_monthly (month, {cols}, {value}) "
            f"SELECT substr(day, 1, 7), {cols}, sum({value}) FROM {day_table} "
            f"GROUP BY substr(day, 1, 7), {cols}"
        )


def downgrade() -> None:
    for day_table, _, _ in reversed(TABLES):
        op.drop_table(f"{day_table}_monthly")
