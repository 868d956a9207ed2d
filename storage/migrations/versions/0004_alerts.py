"""Alerts: a channel's followed authors and saved searches (issue 14).

Revision ID: 0004_alerts
Revises: 0003_subscription_cadence
Create Date: 2026-11-30 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_alerts"
down_revision: str | Sequence[str] | None = "0003_subscription_cadence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("channel_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("query", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel_key", "kind", "query", name="uq_alert_per_channel"),
    )
    op.create_index("ix_alerts_channel_key", "alerts", ["channel_key"])


def downgrade() -> None:
    op.drop_index("ix_alerts_channel_key", table_name="alerts")
    op.drop_table("alerts")
