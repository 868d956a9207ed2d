"""Deliveries get `retry_at`: a transient failure is retried on a later tick the same day.

Revision ID: 0002_delivery_retry_at
Revises: 0001_initial
Create Date: 2026-11-22 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_delivery_retry_at"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Rows waiting for a retry become what they were before this revision: failed.
    op.execute("UPDATE deliveries SET status = 'failed' WHERE status = 'retrying'")
    # In place (SQLite >= 3.35 drops a column itself), not in batch mode: a batch drop
    # recreates the table, and dropping the old one with foreign keys on runs ON DELETE
    # on every row that names it.
    op.drop_column("deliveries", "retry_at")
