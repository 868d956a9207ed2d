"""Paper vectors for search by meaning (issue 12): one row per (paper, model).

Revision ID: 0009_paper_vectors
Revises: 0008_paper_changes
Create Date: 2026-11-30 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_paper_vectors"
down_revision: str | Sequence[str] | None = "0008_paper_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paper_vectors",
        sa.Column(
            "paper_key",
            _KEY,
            sa.ForeignKey("papers.key", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paper_vectors")
