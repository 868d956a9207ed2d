"""Change numbers for paper writes, and tombstones for removed keys.

A transaction that writes papers first takes the next number with
`UPDATE paper_change_counter SET value = value + 1 RETURNING value`.  The row lock that
UPDATE takes is held until the transaction ends, so a second paper writer waits there
until the first commits: numbers are handed out, and become visible, in commit order.
A PostgreSQL sequence would not do: it is allocated before commit, so a transaction
holding 100 may commit after one holding 101, and an index that caught up to 101 would
miss 100 forever.  SQLite serialises writers anyway.  Every row the transaction writes
carries its number, and every key it deletes leaves a tombstone with it; a key merged
into another paper names that paper in its tombstone, which is how a button or a link
still carrying the old key finds the paper (`survivor`, `SqlPaperRepository.get`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.orm import Session

from storage.tables import PaperChangeCounterRow, PaperRow, PaperTombstoneRow

_KEY = "paper_change"
# Merges followed from one removed key before giving up (a survivor has an arXiv id, so
# it is not folded again; the bound only guards a cycle).
MAX_HOPS = 8
# Keys per IN list.
_IN_CHUNK = 1000


def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


def change_number(session: Session) -> int:
    """This transaction's change number, taken (and the counter locked) on first use."""
    number = session.info.get(_KEY)
    if number is None:
        number = int(
            session.execute(
                update(PaperChangeCounterRow)
                .where(PaperChangeCounterRow.id == 1)
                .values(value=PaperChangeCounterRow.value + 1)
                .returning(PaperChangeCounterRow.value)
            ).scalar_one()
        )
        session.info[_KEY] = number
        if not session.info.get(_KEY + "_hooked"):
            event.listen(session, "after_commit", _forget)
            event.listen(session, "after_rollback", _forget)
            session.info[_KEY + "_hooked"] = True
    return int(number)


def last_change(session: Session) -> int:
    """The number of the last committed paper write (0 for a new database)."""
    return int(session.scalar(select(PaperChangeCounterRow.value)) or 0)


def database_id(session: Session) -> str:
    """A random id made when this database was created (it names an index's source)."""
    return str(session.scalar(select(PaperChangeCounterRow.database_id)) or "")


def bury(
    session: Session, keys: Iterable[int], *, survivors: Mapping[int, int] | None = None
) -> None:
    """Leave tombstones for deleted paper keys, stamped with this transaction's number;
    `survivors` names the paper each merged-away key was folded into."""
    gone = sorted(set(keys))
    if not gone:
        return
    number = change_number(session)
    survivors = survivors or {}
    session.execute(delete(PaperTombstoneRow).where(PaperTombstoneRow.key.in_(gone)))
    session.execute(
        insert(PaperTombstoneRow),
        [{"key": k, "change": number, "survivor": survivors.get(k)} for k in gone],
    )


def survivor(session: Session, key: int) -> int | None:
    """The paper that merged-away `key` was folded into; None for any other key."""
    found = session.scalar(select(PaperTombstoneRow.survivor).where(PaperTombstoneRow.key == key))
    return None if found is None else int(found)


def follow_removed(session: Session, keys: Collection[int]) -> dict[int, int | None]:
    """Those of `keys` no longer stored, each with the stored paper it was merged into
    (through merges of merges), or None when it was deleted or never stored.

    The keys still stored are locked `FOR KEY SHARE` (PostgreSQL) until the transaction
    ends: a merge of one of them waits until rows this transaction writes naming it have
    committed, and then moves them; one merging meanwhile is waited for and then found
    removed. Call it before writing rows a merge would rewrite (a merge locks the papers
    first as well), or the two can deadlock.
    """
    wanted = sorted(set(keys))
    stored: set[int] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        lock = (
            select(PaperRow.key)
            .where(PaperRow.key.in_(wanted[start : start + _IN_CHUNK]))
            .order_by(PaperRow.key)
            .with_for_update(key_share=True)
        )
        stored.update(int(k) for k in session.scalars(lock))
    found: dict[int, int | None] = {}
    for key in wanted:
        if key not in stored:
            found[key] = _live_survivor(session, key)
    return found


def _live_survivor(session: Session, key: int) -> int | None:
    for _ in range(MAX_HOPS):
        following = survivor(session, key)
        if following is None:
            return None
        if session.scalar(select(PaperRow.key).where(PaperRow.key == following)) is not None:
            return following
        key = following
    return None
