"""Channel reading lists and first shares of paper links (issue 14).

Revision ID: 0005_reading_list
Revises: 0004_alerts
Create Date: 2026-11-30 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reading_list"
down_revision: str | Sequence[str] | None = "0004_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reading_list",
        sa.Column("channel_key", sa.String(200), primary_key=True),
        sa.Column(
            "paper_key",
            _KEY,
            sa.ForeignKey("papers.key", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
    )
    op.create_table(
        "first_shares",
        sa.Column("channel_key", sa.String(200), primary_key=True),
        sa.Column(
            "paper_key",
            _KEY,
            sa.ForeignKey("papers.key", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("shared_by", sa.String(64), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("first_shares")
    op.drop_table("reading_list")
