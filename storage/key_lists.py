"""Which digest deliveries and alert batches name a paper: their key lists as rows.

A digest delivery keeps its planned papers as a JSON list (`deliveries.paper_keys`, in
the order they are shown, with `paper_notes` keyed by paper), and an alert batch the new
papers of one ingest run (`alert_batches.paper_keys`). Those lists stay, and every reader
still reads them: they hold the order, the notes are keyed like them, and a delivery or a
batch is always read whole, so moving the readers to a table would add a join to each
read and change nothing they see. What a JSON list cannot answer is the question a merge
asks: which rows name paper K. `delivery_papers` and `alert_batch_papers` answer it
through an index on `paper_key`. They are written with the JSON, in the same transaction
(a delivery's claim and finish, a batch's enqueue), and a merge rewrites the JSON of
exactly the rows they name, then re-points them (`rewrite_key_lists`).

- A batch's rows live only until it is planned: a planned batch's keys are never read
  again, and the batch of a first bulk load names every paper.
- `paper_key` has no foreign key to papers, unlike the tables `storage.merge_follow`
  moves: a digest planned while a merge commits would otherwise fail every claim of its
  tick. Its key is then as stale as its JSON, until the digest is recorded: finishing it
  names the survivor (`SqlDeliveryLedger.finish_many`), and `PaperRepository.get` finds
  the survivor through the tombstone meanwhile.
- Derived from the JSON (migration 0017 built them from it): a downgrade drops them and
  loses nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Select, Table, delete, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.merge_rules import follow_keys, follow_notes
from storage.tables import AlertBatchPaperRow, AlertBatchRow, DeliveryPaperRow, DeliveryRow

# Ids or keys per IN list (SQLite allows 32766 bound values, PostgreSQL 65535).
_IN_CHUNK = 1000


class KeyList:
    """A table with a JSON list of paper keys (`lists`) and the rows naming each (`rows`,
    whose `owner` column is the id of the listing row)."""

    def __init__(
        self,
        lists: Table,
        rows: Table,
        owner: str,
        still_read: ColumnElement[bool] | None,
        *,
        skip_locked: bool = False,
    ) -> None:
        self.lists = lists
        self.rows = rows
        self.owner: Column[Any] = rows.c[owner]
        self.still_read = still_read
        # A merge leaves listing rows another transaction has locked alone (PostgreSQL).
        self.skip_locked = skip_locked

    def write(
        self, session: Session, keys_by_id: Mapping[int, Sequence[int]], *, new: bool = False
    ) -> None:
        """Make the rows of each listing row name exactly its `keys` (each once); `new`
        listing rows (just inserted) have none to delete first."""
        ids = sorted(keys_by_id)
        for start in range(0, 0 if new else len(ids), _IN_CHUNK):
            session.execute(delete(self.rows).where(self.owner.in_(ids[start : start + _IN_CHUNK])))
        values = [
            {self.owner.name: row_id, "paper_key": int(key)}
            for row_id in ids
            for key in dict.fromkeys(keys_by_id[row_id])
        ]
        if values:
            session.execute(insert(self.rows), values)

    def sync(self, session: Session, ids: Collection[int]) -> None:
        """Rebuild the rows of listing rows `ids` from their stored JSON."""
        wanted = sorted(set(ids))
        found: dict[int, Sequence[int]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            query = select(self.lists.c.id, self.lists.c.paper_keys).where(
                self.lists.c.id.in_(chunk)
            )
            found.update((int(i), keys or ()) for i, keys in session.execute(query))
        self.write(session, {i: found.get(i, ()) for i in wanted})

    def fill(self, session: Session, row_id: int, keys: Select[Any]) -> None:
        """Name the distinct keys `keys` selects for new listing row `row_id`, inside the
        database (a first bulk load's batch names every paper)."""
        found = select(literal(row_id, BigInteger), keys.subquery().c[0])
        session.execute(insert(self.rows).from_select([self.owner.name, "paper_key"], found))

    def drop(self, session: Session, row_id: int) -> None:
        session.execute(delete(self.rows).where(self.owner == row_id))

    def naming(self, session: Session, keys: Collection[int]) -> set[int]:
        """Ids of the listing rows that name any of `keys`."""
        wanted = sorted(set(keys))
        found: set[int] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            query = select(self.owner).where(self.rows.c.paper_key.in_(chunk)).distinct()
            found.update(int(i) for i in session.scalars(query))
        return found


DELIVERIES = KeyList(
    cast(Table, DeliveryRow.__table__),
    cast(Table, DeliveryPaperRow.__table__),
    "delivery_id",
    None,
)
# Rows exist only for batches not planned yet; the condition guards a batch planned
# between a merge's look-up and its rewrite. A batch locked meanwhile is being planned
# (`next_batch` locks it): its keys are not read again, and a merge waiting for it while
# the planner waits for the merge's papers would deadlock. The planner follows the merge
# instead (`SqlAlertLedger.plan`).
ALERT_BATCHES = KeyList(
    cast(Table, AlertBatchRow.__table__),
    cast(Table, AlertBatchPaperRow.__table__),
    "batch_id",
    AlertBatchRow.planned_at.is_(None),
    skip_locked=True,
)


def rewrite_key_lists(session: Session, moves: Mapping[int, int]) -> None:
    """Replace merged-away keys (`moves`: old -> surviving key) in the JSON lists, and in
    the keys of `paper_notes` where the table has them, of exactly the rows naming them."""
    for key_list in (DELIVERIES, ALERT_BATCHES):
        ids = sorted(key_list.naming(session, moves))
        table = key_list.lists
        notes = table.c.get("paper_notes")
        columns = [table.c.id, table.c.paper_keys] + ([notes] if notes is not None else [])
        rewritten: dict[int, list[int]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            found = select(*columns).where(table.c.id.in_(ids[start : start + _IN_CHUNK]))
            if key_list.still_read is not None:
                found = found.where(key_list.still_read)
            if key_list.skip_locked:
                found = found.with_for_update(skip_locked=True)
            for row_id, keys, *extra in session.execute(found).all():
                stored = [int(k) for k in keys or ()]
                values: dict[str, Any] = {"paper_keys": follow_keys(stored, moves)}
                if extra and extra[0]:
                    by_key = {int(k): note for k, note in extra[0].items()}
                    values["paper_notes"] = {
                        str(k): note for k, note in follow_notes(by_key, moves).items()
                    }
                session.execute(update(table).where(table.c.id == row_id).values(**values))
                rewritten[int(row_id)] = values["paper_keys"]
        # Only the rewritten rows: a batch planned meanwhile had its rows dropped by the
        # planner, and one being planned keeps them until the planner drops them.
        key_list.write(session, rewritten)
