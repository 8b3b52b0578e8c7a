"""spend per source and month

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spend",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_spend_amount")),
        sa.PrimaryKeyConstraint("source", "month", name=op.f("pk_spend")),
    )


def downgrade() -> None:
    op.drop_table("spend")
