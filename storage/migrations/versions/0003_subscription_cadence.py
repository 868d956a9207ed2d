"""Subscriptions get `cadence`: daily (each chosen weekday) or weekly (one day, 7-day window).

Revision ID: 0003_subscription_cadence
Revises: 0002_delivery_retry_at
Create Date: 2026-11-30 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_subscription_cadence"
down_revision: str | Sequence[str] | None = "0002_delivery_retry_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cadence", sa.String(length=8), nullable=False, server_default="daily")
        )


def downgrade() -> None:
    # A weekly subscription becomes a daily one on its single weekday.
    # In place (SQLite >= 3.35 drops a column itself), not in batch mode: a batch drop
    # recreates the table, and dropping the old one with foreign keys on runs ON DELETE
    # on every row that names it.
    op.drop_column("subscriptions", "cadence")
