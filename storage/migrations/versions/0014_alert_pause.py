"""Alert pause: a channel whose alert posts fail for good stops getting alerts (issue 14).

`alerts.paused_reason` and `alerts.paused_at` are set on every alert of a channel when a
post there fails permanently (Slack `channel_not_found`, `not_in_channel`, `is_archived`;
Discord 403/404); planning skips paused alerts, and a manager adding an alert clears them.

Revision ID: 0014_alert_pause
Revises: 0013_delivery_paper_notes
Create Date: 2026-11-30 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_alert_pause"
down_revision: str | Sequence[str] | None = "0013_delivery_paper_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("paused_reason", sa.String(200), nullable=True))
    op.add_column("alerts", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("paused_at")
        batch.drop_column("paused_reason")
