"""Embedding marks (issue 12): per model, the change number up to which every paper was
checked, so `embed_pending` reads only papers written since instead of every paper.

Revision ID: 0015_vector_marks
Revises: 0014_alert_pause
Create Date: 2026-11-30 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_vector_marks"
down_revision: str | Sequence[str] | None = "0014_alert_pause"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vector_marks",
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("change", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vector_marks")
