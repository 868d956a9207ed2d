"""Rows that name a paper no longer vanish with it: foreign keys to papers restrict deletes.

A merge folds a title-only paper into the paper with its arXiv id and deletes the folded
row; `storage.merge_follow` first moves every row naming it to the surviving paper. With
ON DELETE CASCADE a table left out of that move lost its rows without a word (reading
lists, first shares and votes did, until this revision's change). RESTRICT makes such a
delete fail instead. Vectors keep CASCADE: they are computed from the paper and can be
computed again.

Tables keyed by (channel, paper) get an index on `paper_key`: moving a paper's rows, and
checking that a deleted paper has none, otherwise scan the whole table (about 150 ms per
merged paper with 200k sent papers on SQLite).

Revision ID: 0012_paper_refs_restrict
Revises: 0011_ingest_runs
Create Date: 2026-11-30 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_paper_refs_restrict"
down_revision: str | Sequence[str] | None = "0011_ingest_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "upvote_snapshots",
    "sent_papers",
    "reading_list",
    "first_shares",
    "alert_items",
    "votes",
)
# Names for the foreign keys SQLite reflects without one (batch mode needs a name).
_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _paper_fk_name(table: str) -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if fk["referred_table"] == "papers" and fk["constrained_columns"] == ["paper_key"]:
            return fk.get("name")
    raise RuntimeError(f"migration 0012: table {table} has no foreign key to papers.key")


def _set_ondelete(table: str, ondelete: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        name = f"fk_{table}_paper_key_papers"
        with op.batch_alter_table(table, recreate="always", naming_convention=_NAMING) as batch:
            batch.drop_constraint(name, type_="foreignkey")
            batch.create_foreign_key(name, "papers", ["paper_key"], ["key"], ondelete=ondelete)
        return
    old = _paper_fk_name(table)
    if old:
        op.drop_constraint(old, table, type_="foreignkey")
    op.create_foreign_key(
        f"{table}_paper_key_fkey", table, "papers", ["paper_key"], ["key"], ondelete=ondelete
    )


# Their primary key leads with the channel, so it does not serve a lookup by paper.
_INDEXED = ("sent_papers", "reading_list", "first_shares", "alert_items", "votes")


def upgrade() -> None:
    for table in _TABLES:
        _set_ondelete(table, "RESTRICT")
    for table in _INDEXED:
        op.create_index(f"ix_{table}_paper_key", table, ["paper_key"])


def downgrade() -> None:
    for table in _INDEXED:
        op.drop_index(f"ix_{table}_paper_key", table_name=table)
    for table in _TABLES:
        _set_ondelete(table, "CASCADE")
