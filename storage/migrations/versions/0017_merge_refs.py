"""Merges find what names a paper through an index, and a merged-away key names its survivor.

- `delivery_papers` and `alert_batch_papers`: the paper keys of each digest delivery and
  of each alert batch not planned yet, as rows indexed by paper key, filled here from the
  JSON lists (`deliveries.paper_keys`, `alert_batches.paper_keys`), which stay as they are
  (storage/key_lists.py). A merge used to find the rows naming a merged-away key by a text
  match over the JSON (key 401 also matched 1401), 50 keys per statement.
- `paper_tombstones.survivor`: the paper a merged-away key was folded into, so a button or
  link carrying the old key acts on it. Tombstones written before this revision have none.

The downgrade drops the two tables (rebuilt from the JSON by the next upgrade) and the
survivor column; every other row is kept.

Revision ID: 0017_merge_refs
Revises: 0016_alert_held
Create Date: 2026-11-30 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_merge_refs"
down_revision: str | Sequence[str] | None = "0016_alert_held"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# (side table, its owner column, the listing table, which listing rows are still read)
_LISTS = (
    ("delivery_papers", "delivery_id", "deliveries", None),
    ("alert_batch_papers", "batch_id", "alert_batches", "planned_at IS NULL"),
)
_BATCH = 1000  # listing rows read per round trip while filling


def _fill(side: sa.Table, owner: str, listing: str, still_read: str | None) -> None:
    """One row per distinct key of each listing row's JSON list, read by id in batches."""
    bind = op.get_bind()
    lists = sa.table(listing, sa.column("id", _KEY), sa.column("paper_keys", sa.JSON()))
    last = 0
    while True:
        query = sa.select(lists.c.id, lists.c.paper_keys).where(lists.c.id > last)
        if still_read is not None:
            query = query.where(sa.text(still_read))
        rows = bind.execute(query.order_by(lists.c.id).limit(_BATCH)).all()
        if not rows:
            return
        values = [
            {owner: int(row_id), "paper_key": int(key)}
            for row_id, keys in rows
            for key in dict.fromkeys(keys or ())
        ]
        if values:
            bind.execute(sa.insert(side), values)
        last = int(rows[-1][0])


def upgrade() -> None:
    for name, owner, listing, still_read in _LISTS:
        columns = [
            sa.Column(
                owner,
                _KEY,
                sa.ForeignKey(f"{listing}.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("paper_key", _KEY, primary_key=True),
        ]
        if name == "alert_batch_papers":
            # Keyed by paper first and no other index: a bulk load's batch writes one
            # b-tree entry per paper (its rows go, all at once, when it is planned).
            side = op.create_table(name, *reversed(columns))
        else:
            side = op.create_table(name, *columns)
            op.create_index(f"ix_{name}_paper_key", name, ["paper_key"], unique=False)
        _fill(side, owner, listing, still_read)
    with op.batch_alter_table("paper_tombstones") as batch:
        batch.add_column(sa.Column("survivor", _KEY, nullable=True))


def downgrade() -> None:
    # paper_tombstones is named by no foreign key: recreating it in batch mode (SQLite)
    # runs no ON DELETE anywhere.
    with op.batch_alter_table("paper_tombstones") as batch:
        batch.drop_column("survivor")
    op.drop_table("alert_batch_papers")
    op.drop_index("ix_delivery_papers_paper_key", table_name="delivery_papers")
    op.drop_table("delivery_papers")
