"""Ingest runs: a large file is staged, then applied in short batches (issue 16).

`ingest_runs` holds one row per file being ingested (`staging`, then `ready`), and
`ingest_batches` its staged records. A run left `ready` by a crash is applied by the next
process that ingests (roll forward); one left `staging` is discarded.

Revision ID: 0011_ingest_runs
Revises: 0010_channel_taste
Create Date: 2026-11-30 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_ingest_runs"
down_revision: str | Sequence[str] | None = "0010_channel_taste"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ingest_runs",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_batches",
        sa.Column(
            "run_id",
            _KEY,
            sa.ForeignKey("ingest_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("records", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_batches")
    op.drop_table("ingest_runs")
