"""Vector writes carry their own change number (issue 12): `paper_vectors.change`.

`papers-bot embed` used to re-stamp every embedded paper's `papers.change`, so that each
index applied the paper again and found its vector; the catch-up then re-indexed the paper
in tantivy too, although only its vector had changed (half of the 61 s index update after
a 138k embed, bench/vector_catch_up.py). A vector row now takes the change number of the
transaction that wrote it (the same counter, so the numbers still follow commit order) and
the paper row is left alone: a catch-up applies vector-only changes to the vector part only.

Backfill: a stored vector gets its paper's change number. Until now the vector write
re-stamped its paper in the same transaction, so an index that applied the paper at that
number (or later) has the vector, and one that did not applies both. Indexed on
(model, change) for the catch-up's range read.

The downgrade re-stamps every paper whose vector is newer than its row with the vector's
number (what the older code did at the write), so an index behind on vector-only changes
still applies them after it; then it drops the index and the column.

Revision ID: 0018_vector_changes
Revises: 0017_merge_refs
Create Date: 2026-11-30 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_vector_changes"
down_revision: str | Sequence[str] | None = "0017_merge_refs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_paper_vectors_model_change"


def upgrade() -> None:
    with op.batch_alter_table("paper_vectors") as batch:
        batch.add_column(sa.Column("change", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE paper_vectors SET change = COALESCE("
        "(SELECT papers.change FROM papers WHERE papers.key = paper_vectors.paper_key), 0)"
    )
    op.create_index(_INDEX, "paper_vectors", ["model", "change"], unique=False)


def downgrade() -> None:
    op.execute(
        "UPDATE papers SET change = ("
        "SELECT MAX(paper_vectors.change) FROM paper_vectors "
        "WHERE paper_vectors.paper_key = papers.key) "
        "WHERE papers.change < ("
        "SELECT MAX(paper_vectors.change) FROM paper_vectors "
        "WHERE paper_vectors.paper_key = papers.key)"
    )
    op.drop_index(_INDEX, table_name="paper_vectors")
    with op.batch_alter_table("paper_vectors") as batch:
        batch.drop_column("change")
