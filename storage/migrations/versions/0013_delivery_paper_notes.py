"""Digest ledger rows keep why each planned paper was chosen and the topic it matched.

`deliveries.paper_notes` is `{"paper key": [why, topic]}` for the planned papers that
have either, written with the claim. A digest re-sent after a crash or a failed post
showed neither (the why is the channel's taste at planning time, and a topic matched by
meaning needs the encoder); it now shows them as first planned. NULL for rows planned
before this revision: their re-send names lexical topics only, as before.

Revision ID: 0013_delivery_paper_notes
Revises: 0012_paper_refs_restrict
Create Date: 2026-11-30 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_delivery_paper_notes"
down_revision: str | Sequence[str] | None = "0012_paper_refs_restrict"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("paper_notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    # In place (SQLite >= 3.35 drops a column itself), not in batch mode: a batch drop
    # recreates `deliveries`, and dropping the old table with foreign keys on runs ON
    # DELETE SET NULL on every sent paper's delivery_id.
    op.drop_column("deliveries", "paper_notes")
