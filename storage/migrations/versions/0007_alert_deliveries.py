"""Alert delivery (issue 14): batches of new papers, one message per channel, each paper once.

Revision ID: 0007_alert_deliveries
Revises: 0005_reading_list
Create Date: 2026-12-01 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_alert_deliveries"
down_revision: str | Sequence[str] | None = "0005_reading_list"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_batches",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("paper_keys", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("planned_at", _TS, nullable=True),
        sa.Column("planned_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_alert_batches_planned", "alert_batches", ["planned_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column(
            "batch_id", _KEY, sa.ForeignKey("alert_batches.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("channel_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=True),
        sa.Column("retry_at", _TS, nullable=True),
        sa.UniqueConstraint("batch_id", "channel_key", name="uq_alert_delivery_per_batch"),
    )
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status", "platform"])
    op.create_table(
        "alert_items",
        sa.Column("channel_key", sa.String(200), primary_key=True),
        sa.Column(
            "paper_key", _KEY, sa.ForeignKey("papers.key", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "delivery_id",
            _KEY,
            sa.ForeignKey("alert_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.JSON(), nullable=False),
    )
    op.create_index("ix_alert_items_delivery", "alert_items", ["delivery_id", "position"])


def downgrade() -> None:
    op.drop_table("alert_items")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_batches")
