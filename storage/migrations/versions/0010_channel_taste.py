"""Channel taste (issue 13): votes, the per-channel taste switch, and a look-up of digest
messages by their platform message id (reactions on a digest name only the message).

Revision ID: 0010_channel_taste
Revises: 0009_paper_vectors
Create Date: 2026-11-30 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_channel_taste"
down_revision: str | Sequence[str] | None = "0009_paper_vectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "votes",
        sa.Column("channel_key", sa.String(200), primary_key=True),
        sa.Column(
            "paper_key",
            _KEY,
            sa.ForeignKey("papers.key", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False, server_default="1.0"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=True),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_votes_workspace", "votes", ["platform", "workspace"])
    op.create_table(
        "channel_taste",
        sa.Column("channel_key", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_channel_taste_workspace", "channel_taste", ["platform", "workspace"])
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.drop_index("ix_channel_taste_workspace", table_name="channel_taste")
    op.drop_table("channel_taste")
    op.drop_index("ix_votes_workspace", table_name="votes")
    op.drop_table("votes")
