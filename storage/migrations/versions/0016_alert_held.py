"""Alert messages that wait for their channel (issue 14): a delivery refused for good is
`paused`, not `failed`, and a manager resuming the channel's alerts queues it again.

No schema change: `alert_deliveries.status` is a plain string. Upgrade turns the failed
deliveries that paused a channel still paused (same reason) into `paused`, so their papers
go out on resume too; downgrade turns every `paused` delivery back into `failed`, the
only final state earlier versions know for it.

Revision ID: 0016_alert_held
Revises: 0015_vector_marks
Create Date: 2026-11-30 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_alert_held"
down_revision: str | Sequence[str] | None = "0015_vector_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `alerts.paused_reason` keeps the first 200 characters of the delivery's reason.
    op.execute(
        sa.text(
            "UPDATE alert_deliveries SET status = 'paused' "
            "WHERE status = 'failed' AND EXISTS ("
            " SELECT 1 FROM alerts"
            " WHERE alerts.channel_key = alert_deliveries.channel_key"
            " AND alerts.paused_at IS NOT NULL"
            " AND alerts.paused_reason = substr(alert_deliveries.reason, 1, 200))"
        )
    )


def downgrade() -> None:
    op.execute(sa.text("UPDATE alert_deliveries SET status = 'failed' WHERE status = 'paused'"))
