"""Rows that name a paper follow it when it is merged into another (nothing stored is lost).

`SqlPaperRepository` folds a title-only paper into the paper that has its arXiv id and
deletes the folded row. Before that delete, every table that references papers is
re-pointed at the surviving key: upvote history, sent and alerted papers, reading lists,
first shares, votes and vectors. Where the channel (person, model) already has a row for
the surviving paper, one row is kept with values chosen by `bot.merge_rules`. Paper key
lists stored as JSON (a digest's planned papers, an alert batch) are rewritten too, so a
re-sent digest and a reaction on an old digest still find the paper.

The foreign keys to `papers.key` restrict deletes (migration 0012), so a table added
later and not listed here makes a merge fail loudly rather than lose its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Table, Text, and_, delete, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.merge_rules import (
    follow_keys,
    follow_notes,
    keep_alert_item,
    keep_first_share,
    keep_saved,
    keep_sent,
    keep_survivor,
    keep_vote,
)
from storage.tables import (
    AlertBatchRow,
    AlertItemRow,
    Base,
    DeliveryRow,
    FirstShareRow,
    PaperVectorRow,
    SavedPaperRow,
    SentPaperRow,
    UpvoteSnapshotRow,
    VoteRow,
)

Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]

# Every table with a foreign key to papers.key, and how two rows for one paper combine
# (None: rows have their own key and simply move).
REFERENCES: dict[type[Base], Rule | None] = {
    UpvoteSnapshotRow: None,
    SentPaperRow: keep_sent,
    AlertItemRow: keep_alert_item,
    SavedPaperRow: keep_saved,
    FirstShareRow: keep_first_share,
    VoteRow: keep_vote,
    PaperVectorRow: keep_survivor,
}
# Tables keeping paper keys in a JSON list, and which of their rows are still read. A
# digest's keys are (a reaction, a re-send); a planned alert batch's never are again, and
# the batch of a first bulk load names every paper: rewriting it (a 1M-key batch added
# about 1 s per 50 merges on SQLite) would be paid by every later ingest that merges.
_KEY_LISTS: tuple[tuple[type[Base], ColumnElement[bool] | None], ...] = (
    (DeliveryRow, None),
    (AlertBatchRow, AlertBatchRow.planned_at.is_(None)),
)
# Merged-away keys looked for per statement in the JSON lists.
_LIKE_CHUNK = 50


def follow_merges(session: Session, moves: Mapping[int, int]) -> None:
    """Re-point every row naming a merged-away key (`moves`: old key -> surviving key)."""
    for old, new in moves.items():
        for row, rule in REFERENCES.items():
            _follow(session, cast(Table, row.__table__), old, new, rule)
    for row, still_read in _KEY_LISTS:
        _rewrite_key_lists(session, cast(Table, row.__table__), moves, still_read)


def _follow(session: Session, table: Table, old: int, new: int, rule: Rule | None) -> None:
    paper = table.c.paper_key
    if rule is not None:
        # The rest of the primary key: channel, person or model.
        rest = [c for c in table.primary_key.columns if c.name != "paper_key"]
        rows = session.execute(select(table).where(paper.in_((old, new)))).mappings().all()
        pairs: dict[tuple[Any, ...], dict[int, Mapping[str, Any]]] = {}
        for row in rows:
            pairs.setdefault(tuple(row[c.name] for c in rest), {})[row["paper_key"]] = dict(row)
        for ident, pair in pairs.items():
            if old not in pair or new not in pair:
                continue
            same = and_(*(c == value for c, value in zip(rest, ident, strict=True)))
            session.execute(delete(table).where(same, paper == old))
            values = rule(pair[old], pair[new])
            if values:
                session.execute(update(table).where(same, paper == new).values(**values))
    session.execute(update(table).where(paper == old).values(paper_key=new))


def _rewrite_key_lists(
    session: Session,
    table: Table,
    moves: Mapping[int, int],
    still_read: ColumnElement[bool] | None,
) -> None:
    """Replace merged-away keys in `table.paper_keys`, and in the keys of `paper_notes`
    where the table has them (rows found by a text match first, among the rows
    `still_read` selects)."""
    olds = sorted(moves)
    text = sql_cast(table.c.paper_keys, Text)
    notes = table.c.get("paper_notes")
    for start in range(0, len(olds), _LIKE_CHUNK):
        chunk = olds[start : start + _LIKE_CHUNK]
        columns = [table.c.id, table.c.paper_keys] + ([notes] if notes is not None else [])
        found = select(*columns).where(or_(*(text.like(f"%{old}%") for old in chunk)))
        if still_read is not None:
            found = found.where(still_read)
        candidates = session.execute(found).all()
        for row_id, keys, *extra in candidates:
            stored = [int(k) for k in keys or ()]
            values: dict[str, Any] = {"paper_keys": follow_keys(stored, moves)}
            if extra and extra[0]:
                by_key = {int(k): note for k, note in extra[0].items()}
                values["paper_notes"] = {
                    str(k): note for k, note in follow_notes(by_key, moves).items()
                }
            if values["paper_keys"] != stored:
                session.execute(update(table).where(table.c.id == row_id).values(**values))
