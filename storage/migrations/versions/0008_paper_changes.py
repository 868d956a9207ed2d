"""Papers get change numbers and tombstones, so the search index catches up without a window.

Every transaction that writes papers takes the next number from `paper_change_counter`
(the row lock serialises paper writers until commit, so numbers follow commit order),
stamps the rows it writes with it, and leaves a tombstone for each key it deletes.
Existing rows get change 1.  `database_id` names this database, so an index directory
left over from another database (a deleted SQLite file, another schema) is rebuilt.

Revision ID: 0008_paper_changes
Revises: 0007_alert_deliveries
Create Date: 2026-11-30 01:00:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_paper_changes"
down_revision: str | Sequence[str] | None = "0007_alert_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("change", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_papers_change", ["change"], unique=False)
    counter = op.create_table(
        "paper_change_counter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("database_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "paper_tombstones",
        sa.Column(
            "key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("change", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_paper_tombstones_change", "paper_tombstones", ["change"], unique=False)
    op.execute("UPDATE papers SET change = 1")
    op.bulk_insert(counter, [{"id": 1, "value": 1, "database_id": str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_index("ix_paper_tombstones_change", table_name="paper_tombstones")
    op.drop_table("paper_tombstones")
    op.drop_table("paper_change_counter")
    op.drop_index("ix_papers_change", table_name="papers")
    # In place (SQLite >= 3.35 drops a column itself), not in batch mode: a batch drop
    # recreates the table, and dropping the old one with foreign keys on runs ON DELETE
    # on every row that names it.
    op.drop_column("papers", "change")
